using System.Globalization;
using System.Text;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// report.md: the lossless verdict, a Spec-Bench-style table (methods × categories: speedup and τ), the
/// chart, throughput, acceptance and time shares, and the setup (machine, models, threads, command line).
/// </summary>
public static class MarkdownReport
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <param name="chartFile">The SVG chart's path relative to the report, or null to leave it out.</param>
    public static string Render(BenchSummary s, string? chartFile)
    {
        var md = new StringBuilder();
        md.AppendLine("# SpecDec benchmark").AppendLine();
        md.AppendLine(Verdict(s.Lossless)).AppendLine();

        md.AppendLine("## Speedup and τ").AppendLine();
        md.Append(SpeedupTable(s)).AppendLine();
        md.AppendLine($"Speedup: the method's mean tokens/s ÷ `{BenchMethods.Baseline}`'s on the same items, an item's tokens/s being its new tokens ÷ the wall time of its whole generation, the prompt's prefill included (Spec-Bench's definition; the decode speedup below leaves the prefill out). τ: mean tokens per target forward, the correction or bonus token included.");
        md.AppendLine();
        if (chartFile is not null) md.AppendLine($"![Speedup per category]({chartFile})").AppendLine();

        md.AppendLine("## Throughput (new tokens/s, prefill included)").AppendLine();
        Table(md, s, Columns(s), m => m.TokensPerSecondStd is double sd
            ? string.Create(C, $"{m.TokensPerSecond:F1} ±{sd:F1}")
            : string.Create(C, $"{m.TokensPerSecond:F1}"));
        md.AppendLine();

        md.AppendLine("## Decode speedup (prefill time left out)").AppendLine();
        md.AppendLine("The speedup on each item's time without the target's prefill of the prompt: what speculation changes, where a long prompt's prefill dilutes every method's speedup alike. A draft model's prefill of the prompt runs in the prefill phase too, so it is left out with it.");
        md.AppendLine();
        Table(md, s, Columns(s), m => string.Create(C, $"{m.DecodeSpeedup:F2}×"));
        md.AppendLine();

        md.AppendLine("## Acceptance and where the time goes (all items)").AppendLine();
        md.AppendLine("| method | tok/s | speedup | decode speedup | τ | α | draft | verify | prefill | ms/draft token | ms/verify | c | new tokens | rounds | drafted | accepted |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        // c: the cost of drafting one token relative to one plain decoding step of the target.
        double? targetStep = s.Find(BenchMethods.Baseline, BenchMetrics.Overall) is { Rounds: > 0 } b ? b.VerifyMs / b.Rounds : null;
        foreach (var method in s.Methods)
        {
            if (s.Find(method.Name, BenchMetrics.Overall) is not { } m) continue;
            double? perDraft = m.Drafted > 0 ? m.DraftMs / m.Drafted : null;
            double? perVerify = m.Rounds > 0 ? m.VerifyMs / m.Rounds : null;
            double? c = perDraft / targetStep;
            md.AppendLine(string.Create(C,
                $"| {method.Label} | {m.TokensPerSecond:F1} | {Speedup(m)} | {m.DecodeSpeedup:F2}× | {m.Tau:F2} | {F(m.Alpha, "F3")} | {m.DraftShare:P1} | {m.VerifyShare:P1} | {m.PrefillShare:P1} | {F(perDraft, "F2")} | {F(perVerify, "F2")} | {F(c, "F3")} | {m.NewTokens} | {m.Rounds} | {m.Drafted} | {m.Accepted} |"));
        }
        md.AppendLine();
        md.AppendLine($"tok/s and speedup include the prefill, as above. α: accepted ÷ drafted tokens. draft / verify / prefill: shares of the wall time spent drafting, in the target's verification (decode) forwards, and in the prompt's prefill. ms/draft token: drafting time per drafted token; ms/verify: time per target forward after the prefill; decode speedup: the speedup with the target's prefill time left out; c: ms/draft token ÷ `{BenchMethods.Baseline}`'s ms per forward.");
        md.AppendLine();

        Choices(md, s);
        Setup(md, s);

        if (s.Lossless.Mismatches.Count > 0)
        {
            md.AppendLine().AppendLine("## Lossless mismatches").AppendLine();
            foreach (var mismatch in s.Lossless.Mismatches) md.AppendLine($"- {mismatch}");
        }
        return md.ToString();
    }

    /// <summary>The headline table: methods × categories (and overall), each cell the speedup and τ.</summary>
    public static string SpeedupTable(BenchSummary s)
    {
        var md = new StringBuilder();
        Table(md, s, Columns(s), m => string.Create(C, $"{Speedup(m)} · τ {m.Tau:F2}"));
        return md.ToString();
    }

    private static string[] Columns(BenchSummary s) => s.Categories.Append(BenchMetrics.Overall).ToArray();

    /// <summary>One line: passed, failed, or not checked, with why.</summary>
    public static string Verdict(LosslessVerdict v) =>
        !v.Checked ? $"**Lossless check: not run** ({v.Note})."
        : v.Passed ? $"**Lossless check: passed** ({v.Note})."
        : $"**Lossless check: FAILED** ({v.Note}; listed at the end).";

    // The baseline's speedup is 1 by definition: no spread to show.
    private static string Speedup(MethodMetrics m) => m.SpeedupStd is double sd && m.Method != BenchMethods.Baseline
        ? string.Create(C, $"{m.Speedup:F2}× ±{sd:F2}")
        : string.Create(C, $"{m.Speedup:F2}×");

    private static void Table(StringBuilder md, BenchSummary s, string[] columns, Func<MethodMetrics, string> cell)
    {
        Header(md, "method", columns);
        foreach (var method in s.Methods)
        {
            md.Append("| ").Append(method.Label).Append(" |");
            foreach (string c in columns) md.Append(' ').Append(s.Find(method.Name, c) is { } m ? cell(m) : "–").Append(" |");
            md.AppendLine();
        }
    }

    /// <summary>A per-category table's header: the row label's column, then each category (overall in bold).</summary>
    private static void Header(StringBuilder md, string rowLabel, string[] columns)
    {
        md.Append("| ").Append(rowLabel).Append(" |");
        foreach (string c in columns) md.Append(' ').Append(c == BenchMetrics.Overall ? "**overall**" : c).Append(" |");
        md.AppendLine();
        md.Append("| --- |");
        foreach (string _ in columns) md.Append(" ---: |");
        md.AppendLine();
    }

    /// <summary>
    /// For each method that chooses how to draft each round (auto): per category, each choice's share of the rounds,
    /// its τ and its milliseconds per token (drafting, verification and bookkeeping of its rounds).
    /// </summary>
    private static void Choices(StringBuilder md, BenchSummary s)
    {
        foreach (var method in s.Methods)
        {
            if (s.Find(method.Name, BenchMetrics.Overall)?.Methods is not { } overall) continue;
            md.AppendLine($"## What `{method.Label}` drafted with").AppendLine();
            md.AppendLine("Each cell: the choice's share of the rounds · τ of its rounds · ms per token of its rounds (drafting, verification and the proposer's bookkeeping).");
            md.AppendLine();
            var columns = Columns(s);
            Header(md, "choice", columns);
            foreach (string choice in overall.OrderByDescending(u => u.Value.Rounds).Select(u => u.Key))
            {
                md.Append("| ").Append(choice).Append(" |");
                foreach (string c in columns)
                {
                    var uses = s.Find(method.Name, c)?.Methods;
                    long total = uses?.Values.Sum(u => u.Rounds) ?? 0;
                    md.Append(' ').Append(uses is not null && uses.TryGetValue(choice, out var u) && total > 0
                        ? string.Create(C, $"{(double)u.Rounds / total:P0} · {u.Tau:F2} · {u.MsPerToken:F2}") : "–").Append(" |");
                }
                md.AppendLine();
            }
            md.AppendLine();
        }
    }

    private static void Setup(StringBuilder md, BenchSummary s)
    {
        var r = s.Run;
        md.AppendLine("## Setup").AppendLine();
        md.AppendLine($"- Command: `{r.CommandLine}`");
        md.AppendLine($"- Started: {r.StartedUtc}");
        string load = s.Machine.LoadAverage is { } l ? $"; load average at the end {l}" : "";
        md.AppendLine(string.Create(C, $"- Machine: {s.Machine.Cpu}, {s.Machine.LogicalCores} logical cores, SIMD {s.Machine.Simd}; {s.Machine.Os}; {s.Machine.Runtime}{load}"));
        md.AppendLine(string.Create(C, $"- Device: {r.Device}; threads: {r.Threads}; KV cache {r.CacheType}"));
        foreach (var model in s.Models)
        {
            md.AppendLine(string.Create(C,
                $"- {Capitalize(model.Role)} model: `{model.Path}` ({model.SizeBytes / (1024.0 * 1024.0):F1} MiB, {model.Format}, {model.Architecture}, {model.Parameters / 1e6:F1} M parameters, {model.Layers} layers × {model.HiddenSize}, vocabulary {model.VocabSize})"));
        }
        string decoding = r.Temperature == 0 ? "greedy" : string.Create(C, $"temperature {r.Temperature} (no top-k/top-p/min-p)");
        md.AppendLine(string.Create(C, $"- Decoding: {decoding}, at most {r.MaxTokens} new tokens per turn, seed {r.Seed}"));
        md.AppendLine(string.Create(C, $"- Runs: {r.Runs} timed after one warm-up pass"));
        string limit = r.Limit is int n ? string.Create(C, $"the first {n} of each category") : "every item";
        md.AppendLine(string.Create(C, $"- Items: {r.Items} ({limit}) from `{r.TaskDirectory}`"));
        if (s.LeftOut.Count > 0)
            md.AppendLine(string.Create(C, $"- Left out, their prompt does not fit the context: {s.LeftOut.Count} ({string.Join(", ", s.LeftOut)})"));
        md.AppendLine("- Methods:");
        foreach (var m in s.Methods) md.AppendLine($"  - `{m.Name}`: {m.Description}");
    }

    private static string F(double? v, string format) => v is double d ? d.ToString(format, C) : "–";

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
