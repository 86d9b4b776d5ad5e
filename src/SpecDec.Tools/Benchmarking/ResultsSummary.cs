using System.Globalization;
using System.Text;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// The published results (<c>specdec bench --markdown-summary A.json [B.json …]</c>): one Markdown table of every
/// method's overall speedup, decode speedup and τ in each run (greedy, T = 0.7, …), what those numbers mean,
/// and each run's lossless verdict, command and setup. README.md and docs/benchmarks.md hold it between
/// <see cref="MarkedSection"/> markers; the per-category tables stay in each run's report.md.
/// </summary>
public static class ResultsSummary
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string Render(IReadOnlyList<BenchSummary> runs)
    {
        if (runs.Count == 0) throw new ArgumentException("no run to summarize", nameof(runs));
        var md = new StringBuilder();
        md.Append("| method |");
        foreach (var run in runs)
        {
            string label = Label(run);
            md.Append(C, $" {label} speedup | {label} decode speedup | {label} τ |");
        }
        md.AppendLine();
        md.Append("| --- |").Append(string.Concat(Enumerable.Repeat(" ---: | ---: | ---: |", runs.Count))).AppendLine();
        foreach (var method in runs.SelectMany(r => r.Methods).DistinctBy(m => m.Name))
        {
            md.Append("| ").Append(method.Label).Append(" |");
            foreach (var run in runs)
            {
                md.Append(run.Find(method.Name, BenchMetrics.Overall) is { } m
                    ? string.Create(C, $" {m.Speedup:F2}× | {m.DecodeSpeedup:F2}× | {m.Tau:F2} |")
                    : " – | – | – |");
            }
            md.AppendLine();
        }
        md.AppendLine();
        md.AppendLine($"Over every item of each run, each method against `{BenchMethods.Baseline}` on the same items. " +
            $"**Speedup**: tokens/s ÷ `{BenchMethods.Baseline}`'s, an item's tokens/s being its new tokens ÷ the wall time of its " +
            "whole generation, the prompt's prefill included (Spec-Bench's definition). **Decode speedup**: the same with " +
            "the prefill time left out (the target's and a draft model's prefill of the prompt). **τ**: tokens per " +
            "target forward, the correction or bonus token included.");
        md.AppendLine();

        foreach (var run in runs)
        {
            var r = run.Run;
            string items = r.Limit is int n ? string.Create(C, $"the first {n} of each category") : "every item";
            md.AppendLine(string.Create(C,
                $"- {Label(run)}: {MarkdownReport.Verdict(run.Lossless)} {r.Items} items ({items}), at most {r.MaxTokens} new tokens per turn, {r.Runs} timed run(s), started {r.StartedUtc}: `{r.CommandLine}`"));
        }
        var first = runs[0];
        string models = string.Join(", ", first.Models.Select(m => $"{m.Role} `{m.Path}`"));
        md.AppendLine(string.Create(C,
            $"- Machine: {first.Machine.Cpu}, {first.Machine.LogicalCores} logical cores, SIMD {first.Machine.Simd}; {first.Run.Threads} threads; {models}"));
        // The runs differ in temperature by design; anything else (models, machine, items) is worth a line.
        foreach (var run in runs.Skip(1))
            foreach (string difference in SummaryComparison.Differences(first, run with { Run = run.Run with { Temperature = first.Run.Temperature } }))
                md.AppendLine($"- {Label(run)} differs: {difference}");
        return md.ToString();
    }

    /// <summary>"greedy" or "T = 0.7": how the table's columns tell the runs apart.</summary>
    public static string Label(BenchSummary run) =>
        run.Run.Temperature == 0 ? "greedy" : string.Create(C, $"T = {run.Run.Temperature:0.###}");
}
