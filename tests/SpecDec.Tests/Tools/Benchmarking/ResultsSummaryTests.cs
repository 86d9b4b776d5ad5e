using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

/// <summary>The published results table, on the hand-made records of <see cref="BenchMetricsTests"/>.</summary>
public class ResultsSummaryTests
{
    private static string Row(string text, string start) => Assert.Single(text.Split('\n'), l => l.StartsWith(start)).TrimEnd();

    [Fact]
    public void OneColumnGroupPerRunHoldsTheOverallSpeedupDecodeSpeedupAndTau()
    {
        var greedy = MarkdownReportTests.Summary();
        var sampled = MarkdownReportTests.Summary(temperature: 0.7f);
        string text = ResultsSummary.Render([greedy, sampled]);

        Assert.Equal("| method | greedy speedup | greedy decode speedup | greedy τ | T = 0.7 speedup | T = 0.7 decode speedup | T = 0.7 τ |",
            Row(text, "| method |"));
        Assert.Equal("| --- | ---: | ---: | ---: | ---: | ---: | ---: |", Row(text, "| --- |"));
        // Overall: speedup 320/150, decode speedup 2.27, τ 240/95 (BenchMetricsTests); the same records in both runs.
        Assert.Equal("| spec | 2.13× | 2.27× | 2.53 | 2.13× | 2.27× | 2.53 |", Row(text, "| spec |"));
        Assert.Equal("| ar | 1.00× | 1.00× | 1.00 | 1.00× | 1.00× | 1.00 |", Row(text, "| ar |"));

        Assert.Contains("the prompt's prefill included (Spec-Bench's definition)", text);
        Assert.StartsWith("- greedy: **Lossless check: passed**", Row(text, "- greedy:"));
        Assert.StartsWith("- T = 0.7: **Lossless check: not run**", Row(text, "- T = 0.7:"));
        Assert.EndsWith("3 items (the first 1 of each category), at most 100 new tokens per turn, 1 timed run(s), started 2025-01-01T00:00:00Z: `specdec bench --limit 1`",
            Row(text, "- greedy:"));
        Assert.Contains("; 2 threads; target `models/t.gguf`", Row(text, "- Machine:"));
        Assert.DoesNotContain("differs", text);  // only the temperature does, by design
    }

    [Fact]
    public void AMethodMissingFromARunShowsDashesAndOtherDifferencesAreNamed()
    {
        var greedy = MarkdownReportTests.Summary();
        var sampled = MarkdownReportTests.Summary(temperature: 0.7f);
        var fewer = sampled with
        {
            Methods = sampled.Methods.Where(m => m.Name == "ar").ToArray(),
            Results = sampled.Results.Where(r => r.Method == "ar").ToArray(),
            Run = sampled.Run with { MaxTokens = 64 },
        };
        string text = ResultsSummary.Render([greedy, fewer]);
        Assert.Equal("| spec | 2.13× | 2.27× | 2.53 | – | – | – |", Row(text, "| spec |"));
        Assert.Equal("- T = 0.7 differs: max tokens: 100 vs 64", Row(text, "- T = 0.7 differs:"));
    }
}
