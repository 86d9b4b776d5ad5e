using SpecDec.Tools.Benchmarking;
using static SpecDec.Tests.Tools.Benchmarking.BenchRecords;

namespace SpecDec.Tests.Tools.Benchmarking;

/// <summary>Spec-Bench's metrics on records whose expected values are worked out by hand in the comments.</summary>
public class BenchMetricsTests
{
    private const double Eps = 1e-12;

    // Category x: items x1, x2; category y: item y1 with two turns.
    //   ar:   x1 100 tok / 2.0 s = 50 tok/s   x2 60 / 1.0 s = 60   y1 (40 + 40) / (1.0 + 1.0) s = 40
    //   spec: x1 100 tok / 1.0 s = 100        x2 60 / 0.5 s = 120  y1 (40 + 40) / (0.3 + 0.5) s = 100
    internal static readonly BenchRecord[] Records =
    [
        Record("x1", "x", "ar", Turn(100, 2000, verifyMs: 1900, prefillMs: 100)),
        Record("x1", "x", "spec", Turn(100, 1000, rounds: 40, accepted: 60, drafted: 80, draftMs: 300, verifyMs: 600, prefillMs: 100)),
        Record("x2", "x", "ar", Turn(60, 1000, verifyMs: 900, prefillMs: 100)),
        Record("x2", "x", "spec", Turn(60, 500, rounds: 20, accepted: 40, drafted: 50, draftMs: 100, verifyMs: 300, prefillMs: 100)),
        Record("y1", "y", "ar", Turn(40, 1000, verifyMs: 1000), Turn(40, 1000, verifyMs: 1000)),
        Record("y1", "y", "spec", Turn(40, 300, rounds: 10, accepted: 30, drafted: 40, draftMs: 100, verifyMs: 200),
            Turn(40, 500, rounds: 25, accepted: 15, drafted: 35, draftMs: 100, verifyMs: 400)),
    ];

    private static MethodMetrics Find(IReadOnlyList<MethodMetrics> all, string method, string category) =>
        Assert.Single(all, m => m.Method == method && m.Category == category);

    private static IReadOnlyList<MethodMetrics> Compute(BenchRecord[] records) =>
        BenchMetrics.Compute(records, ["ar", "spec"], ["x", "y"], "ar");

    [Fact]
    public void SpeedupIsTheRatioOfMeanItemSpeedsPerCategory()
    {
        var all = Compute(Records);
        // x: (100 + 120)/2 = 110 over (50 + 60)/2 = 55.
        var x = Find(all, "spec", "x");
        Assert.Equal(110, x.TokensPerSecond, Eps);
        Assert.Equal(2.0, x.Speedup, Eps);
        Assert.Equal(55, Find(all, "ar", "x").TokensPerSecond, Eps);
        // y: one item whose two turns are summed before dividing: 80 tok / 0.8 s over 80 tok / 2 s.
        Assert.Equal(100, Find(all, "spec", "y").TokensPerSecond, Eps);
        Assert.Equal(2.5, Find(all, "spec", "y").Speedup, Eps);
    }

    [Fact]
    public void OverallAveragesEveryItemNotTheCategories()
    {
        var overall = Find(Compute(Records), "spec", BenchMetrics.Overall);
        // (100 + 120 + 100)/3 over (50 + 60 + 40)/3 = 106.67 / 50 — not the mean of the category speedups
        // (2.25), nor total tokens over total time (240/2.3 s over 240/5 s = 2.17).
        Assert.Equal(320.0 / 3, overall.TokensPerSecond, 1e-9);
        Assert.Equal(320.0 / 150, overall.Speedup, 1e-12);
        Assert.Equal(3, overall.Items);
        Assert.Equal(240, overall.NewTokens);
    }

    [Fact]
    public void DecodeSpeedupLeavesThePrefillOut()
    {
        var all = Compute(Records);
        // Item decode speeds: ar 100/1.9, 60/0.9, 80/2.0; spec 100/0.9, 60/0.4, 80/0.8 (tok/s).
        double ar = (100 / 1.9 + 60 / 0.9 + 80 / 2.0) / 3, spec = (100 / 0.9 + 60 / 0.4 + 80 / 0.8) / 3;
        Assert.Equal(spec / ar, Find(all, "spec", BenchMetrics.Overall).DecodeSpeedup, 1e-12);
        Assert.Equal((100 / 0.9 + 60 / 0.4) / (100 / 1.9 + 60 / 0.9), Find(all, "spec", "x").DecodeSpeedup, 1e-12);
        Assert.Equal(1.0, Find(all, "ar", "y").DecodeSpeedup, Eps);
    }

    [Fact]
    public void TauAndAlphaPoolEveryRound()
    {
        var all = Compute(Records);
        // τ = Σ(accepted + rounds) / Σ rounds; α = Σ accepted / Σ drafted.
        var x = Find(all, "spec", "x");
        Assert.Equal((60 + 40 + 40 + 20) / 60.0, x.Tau, Eps);
        Assert.Equal(100 / 130.0, x.Alpha!.Value, Eps);
        var y = Find(all, "spec", "y");
        Assert.Equal((30 + 15 + 10 + 25) / 35.0, y.Tau, Eps);  // 2.29, not the mean of the turns' 4.0 and 1.6
        Assert.Equal(45 / 75.0, y.Alpha!.Value, Eps);
        var overall = Find(all, "spec", BenchMetrics.Overall);
        Assert.Equal(240 / 95.0, overall.Tau, Eps);
        Assert.Equal(145 / 205.0, overall.Alpha!.Value, Eps);
        Assert.Equal(95, overall.Rounds);

        // Plain decoding: one token per forward and nothing drafted.
        var ar = Find(all, "ar", BenchMetrics.Overall);
        Assert.Equal(1.0, ar.Tau, Eps);
        Assert.Null(ar.Alpha);
        Assert.Equal(1.0, ar.Speedup, Eps);
    }

    [Fact]
    public void TimeSharesArePhaseTimeOverWallTime()
    {
        var all = Compute(Records);
        var x = Find(all, "spec", "x");
        Assert.Equal(400 / 1500.0, x.DraftShare, Eps);
        Assert.Equal(900 / 1500.0, x.VerifyShare, Eps);
        Assert.Equal(200 / 1500.0, x.PrefillShare, Eps);
        Assert.Equal((400.0, 900.0, 1500.0), (x.DraftMs, x.VerifyMs, x.WallMs));
        var overall = Find(all, "spec", BenchMetrics.Overall);
        Assert.Equal(600 / 2300.0, overall.DraftShare, Eps);
        Assert.Equal(1500 / 2300.0, overall.VerifyShare, Eps);
    }

    [Fact]
    public void SeveralRunsAverageTheirSpeedupsWithSampleStd()
    {
        // Run 1: 100 vs 50 tok/s (2×); run 2: 120 vs 40 tok/s (3×).
        BenchRecord[] records =
        [
            Record("x1", "x", "ar", 1, Turn(100, 2000)),
            Record("x1", "x", "spec", 1, Turn(100, 1000, rounds: 50, accepted: 50, drafted: 60)),
            Record("x1", "x", "ar", 2, Turn(100, 2500)),
            Record("x1", "x", "spec", 2, Turn(120, 1000, rounds: 60, accepted: 60, drafted: 60)),
        ];
        var x = Find(BenchMetrics.Compute(records, ["ar", "spec"], ["x"]), "spec", "x");
        Assert.Equal(2, x.Runs);
        Assert.Equal(2.5, x.Speedup, Eps);
        Assert.Equal(Math.Sqrt(0.5), x.SpeedupStd!.Value, Eps);  // ((2 − 2.5)² + (3 − 2.5)²) / (2 − 1)
        Assert.Equal(110, x.TokensPerSecond, Eps);
        Assert.Equal(Math.Sqrt(200), x.TokensPerSecondStd!.Value, Eps);
        Assert.Null(Find(Compute(Records), "spec", "x").SpeedupStd);
    }

    [Fact]
    public void ItemsThatDidNotRunAreLeftOut()
    {
        var records = Records.Append(Record("x3", "x", "ar")).Append(Record("x3", "x", "spec")).ToArray();
        var x = Find(Compute(records), "spec", "x");
        Assert.Equal(2, x.Items);
        Assert.Equal(2.0, x.Speedup, Eps);
    }

    [Fact]
    public void CategoriesWithoutRecordsAreSkipped()
    {
        var all = BenchMetrics.Compute(Records, ["ar", "spec"], ["x", "y", "z"], "ar");
        Assert.DoesNotContain(all, m => m.Category == "z");
        Assert.Equal(["x", "y", BenchMetrics.Overall], all.Where(m => m.Method == "spec").Select(m => m.Category));
    }
}
