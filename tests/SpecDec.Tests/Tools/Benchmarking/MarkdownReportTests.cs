using SpecDec.Speculation;
using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

/// <summary>The report's numbers on the hand-made records of <see cref="BenchMetricsTests"/>.</summary>
public class MarkdownReportTests
{
    internal static BenchSummary Summary(float temperature = 0)
    {
        var run = new BenchRunInfo
        {
            CommandLine = "specdec bench --limit 1", StartedUtc = "2025-01-01T00:00:00Z", TaskDirectory = "bench/tasks", Threads = 2,
            MaxTokens = 100, Temperature = temperature, Runs = 1, Seed = 42, Limit = 1, Items = 3,
        };
        BenchMethod[] methods =
        [
            new("ar", "plain", SpeculationOptions.None),
            new("spec", "speculative", new SpeculationOptions { Method = SpeculationMethods.PromptLookup }),
        ];
        var model = new ModelInfo("target", "models/t.gguf", 3 * 1024 * 1024, "GGUF v3", "llama", 4, 256, 8192, 25_000_000);
        return BenchSummary.From(run, MachineInfo.Current(), [model], methods, ["x", "y"], BenchMetricsTests.Records);
    }

    private static string Row(string report, string start) => Assert.Single(report.Split('\n'), l => l.StartsWith(start));

    [Fact]
    public void TheHeadlineTableHoldsSpeedupAndTauPerCategory()
    {
        string table = MarkdownReport.SpeedupTable(Summary());
        Assert.StartsWith("| method | x | y | **overall** |\n| --- | ---: | ---: | ---: |\n", table.ReplaceLineEndings("\n"));
        // x: 2×, τ 160/60; y: 2.5×, τ 80/35; overall: 320/150, τ 240/95.
        Assert.Equal("| spec | 2.00× · τ 2.67 | 2.50× · τ 2.29 | 2.13× · τ 2.53 |", Row(table, "| spec |").TrimEnd());
        Assert.Equal("| ar | 1.00× · τ 1.00 | 1.00× · τ 1.00 | 1.00× · τ 1.00 |", Row(table, "| ar |").TrimEnd());
    }

    [Fact]
    public void TheAcceptanceTableHoldsAlphaSharesAndDraftCost()
    {
        string report = MarkdownReport.Render(Summary(), "speedup.svg");
        var cells = Row(report, "| spec | 106.7 |").Split('|', StringSplitOptions.TrimEntries)[1..^1];
        // α 145/205; draft 600 of 2300 ms; verify 1500; prefill 200; 600 ms over 205 drafted tokens; 1500 ms
        // over 95 rounds; c = (600/205) ÷ (ar's 4800 ms over 240 forwards).
        // Decode speedup: (100/0.9 + 60/0.4 + 80/0.8)/3 over (100/1.9 + 60/0.9 + 80/2)/3 = 2.27.
        Assert.Equal(["spec", "106.7", "2.13×", "2.27×", "2.53", "0.707", "26.1 %", "65.2 %", "8.7 %", "2.93", "15.79", "0.146", "240", "95", "205", "145"], cells);
        Assert.Contains("| ar | 50.0 | 1.00× | 1.00× | 1.00 | – |", report);
        Assert.Contains("- Target model: `models/t.gguf` (3.0 MiB, GGUF v3, llama, 25.0 M parameters, 4 layers × 256, vocabulary 8192)", report);
        Assert.Contains("- Command: `specdec bench --limit 1`", report);
    }

    [Fact]
    public void TheReportSaysWhichNumbersIncludeThePrefill()
    {
        string report = MarkdownReport.Render(Summary(), null);
        Assert.Contains("the wall time of its whole generation, the prompt's prefill included (Spec-Bench's definition", report);
        Assert.Contains("## Throughput (new tokens/s, prefill included)", report);
        Assert.Contains("## Decode speedup (prefill time left out)", report);
        // The decode speedup table (x, y, overall), from the decode speeds worked out in BenchMetricsTests.
        Assert.Contains("| spec | 2.19× | 2.50× | 2.27× |", report);
    }
}
