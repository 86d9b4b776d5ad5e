using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

public class LearnedCostCurveTests
{
    // Swept: one row 1.0 ms, two 1.0, three 1.1, four 1.2, five 1.3.
    private static CostCurve Swept() => new([1.0, 1.0, 1.1, 1.2, 1.3]);

    [Fact]
    public void StartsFromTheSweep()
    {
        var curve = new LearnedCostCurve(Swept());
        Assert.Equal(1.0, curve.OneRowMs, 12);
        Assert.Equal(1.3, curve.Relative(5), 12);
    }

    [Fact]
    public void UntimedCountsScaleWithTheTimedOnesAndTimedCountsFollowTheirRounds()
    {
        var curve = new LearnedCostCurve(Swept());
        // The machine got twice as slow, and only five-row rounds run: c(5) stays the sweep's shape, one row now ~2 ms.
        for (int i = 0; i < 200; i++) curve.Observe(5, 2.6);
        Assert.Equal(2.0, curve.OneRowMs, 3);
        Assert.Equal(1.3, curve.Relative(5), 3);
        // One-row rounds turn out to take 1.0 ms after all: five rows cost 2.6 of them.
        for (int i = 0; i < 200; i++) curve.Observe(1, 1.0);
        Assert.Equal(1.0, curve.OneRowMs, 3);
        Assert.Equal(2.6, curve.Relative(5), 3);
    }

    [Fact]
    public void AStallCountsAsTwiceTheEstimate()
    {
        var curve = new LearnedCostCurve(Swept());
        curve.Observe(1, 1000); // another process took the core
        Assert.Equal(1.0 + LearnedCostCurve.Rate * (LearnedCostCurve.MaxJump * 1.0 - 1.0), curve.OneRowMs, 12);
    }

    [Fact]
    public void NeverFallsWithMoreRowsNorExceedsThem()
    {
        var curve = new LearnedCostCurve(Swept());
        for (int i = 0; i < 50; i++)
        {
            curve.Observe(4, 0.5); // a fast sample of four rows
            curve.Observe(2, 1.9); // slow samples of two
        }
        Assert.True(curve.Relative(4) >= curve.Relative(3) && curve.Relative(3) >= curve.Relative(2));
        for (int n = 1; n <= 64; n++) Assert.InRange(curve.Relative(n), 1, n);
    }

    [Fact]
    public void ACurveThatIsNotThisMachinesTimingIgnoresRounds()
    {
        var curve = new LearnedCostCurve(Swept(), learns: false);
        curve.Observe(5, 9);
        curve.Observe(1, 3);
        Assert.Equal(1.0, curve.OneRowMs, 12);
        Assert.Equal(1.3, curve.Relative(5), 12);
    }
}
