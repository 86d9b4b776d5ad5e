using System.Globalization;
using System.Text;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// Two benchmark summaries side by side (<c>specdec bench --compare A.json B.json</c>): for each method both
/// runs share, per category, the speedup, τ and tokens/s of A and B and the change from A to B; plus the
/// settings that differ, since those make a comparison unfair.
/// </summary>
public static class SummaryComparison
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string Render(BenchSummary a, BenchSummary b, string nameA = "A", string nameB = "B")
    {
        var md = new StringBuilder();
        md.AppendLine($"# {nameA} → {nameB}").AppendLine();
        md.AppendLine($"- A: `{nameA}` ({a.Run.StartedUtc}): {MarkdownReport.Verdict(a.Lossless)}");
        md.AppendLine($"- B: `{nameB}` ({b.Run.StartedUtc}): {MarkdownReport.Verdict(b.Lossless)}");
        foreach (string difference in Differences(a, b)) md.AppendLine($"- differs: {difference}");
        md.AppendLine();

        var categories = a.Categories.Concat(b.Categories).Distinct().Append(BenchMetrics.Overall).ToArray();
        var methods = a.Methods.Select(m => m.Name).Where(n => b.Methods.Any(m => m.Name == n)).ToArray();
        if (methods.Length == 0) md.AppendLine("The two runs share no method.");
        foreach (string method in methods)
        {
            md.AppendLine($"## {method}").AppendLine();
            md.AppendLine("| category | speedup A | speedup B | Δ speedup | τ A | τ B | Δ τ | tok/s A | tok/s B | Δ tok/s |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (string category in categories)
            {
                var x = a.Find(method, category);
                var y = b.Find(method, category);
                if (x is null && y is null) continue;
                string label = category == BenchMetrics.Overall ? "**overall**" : category;
                md.AppendLine(string.Create(C,
                    $"| {label} | {F(x?.Speedup, "F2")} | {F(y?.Speedup, "F2")} | {Delta(x?.Speedup, y?.Speedup, "F2")} | {F(x?.Tau, "F2")} | {F(y?.Tau, "F2")} | {Delta(x?.Tau, y?.Tau, "F2")} | {F(x?.TokensPerSecond, "F1")} | {F(y?.TokensPerSecond, "F1")} | {Percent(x?.TokensPerSecond, y?.TokensPerSecond)} |"));
            }
            md.AppendLine();
        }
        return md.ToString();
    }

    /// <summary>The settings, models and machine facts on which the runs differ.</summary>
    public static IEnumerable<string> Differences(BenchSummary a, BenchSummary b)
    {
        string? Diff(string what, object? x, object? y) =>
            Equals(x, y) ? null : string.Create(C, $"{what}: {x ?? "none"} vs {y ?? "none"}");
        var target = (a.Models.FirstOrDefault(m => m.Role == "target"), b.Models.FirstOrDefault(m => m.Role == "target"));
        var draft = (a.Models.FirstOrDefault(m => m.Role == "draft"), b.Models.FirstOrDefault(m => m.Role == "draft"));
        return new[]
        {
            Diff("target model", target.Item1?.Path, target.Item2?.Path),
            Diff("draft model", draft.Item1?.Path, draft.Item2?.Path),
            Diff("max tokens", a.Run.MaxTokens, b.Run.MaxTokens),
            Diff("temperature", a.Run.Temperature, b.Run.Temperature),
            Diff("items", a.Run.Items, b.Run.Items),
            Diff("threads", a.Run.Threads, b.Run.Threads),
            Diff("CPU", a.Machine.Cpu, b.Machine.Cpu),
            Diff("SIMD", a.Machine.Simd, b.Machine.Simd),
        }.OfType<string>();
    }

    private static string F(double? v, string format) => v is double d ? d.ToString(format, C) : "–";

    private static string Delta(double? x, double? y, string format) =>
        x is double a && y is double b ? (b - a >= 0 ? "+" : "") + (b - a).ToString(format, C) : "–";

    private static string Percent(double? x, double? y) =>
        x is double a && y is double b && a > 0 ? (b >= a ? "+" : "") + ((b - a) / a).ToString("P1", C) : "–";
}
