using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

public class DraftLengthControllerTests
{
    [Fact]
    public void GrowsByTwoOnAFullAcceptAndShrinksByOneOnARejection()
    {
        var length = new DraftLengthController(2, 8);
        Assert.Equal(8, length.Current);
        length.Observe(8, 3);
        Assert.Equal(7, length.Current);
        length.Observe(7, 6);
        Assert.Equal(6, length.Current);
        length.Observe(6, 6);
        Assert.Equal(8, length.Current);
        length.Observe(8, 8);
        Assert.Equal(8, length.Current); // capped at max
        for (int i = 0; i < 10; i++) length.Observe(length.Current, 0);
        Assert.Equal(2, length.Current); // floored at min
    }

    [Fact]
    public void RoundsWithoutDraftsTeachNothing()
    {
        var length = new DraftLengthController(1, 5);
        length.Observe(5, 1);
        length.Observe(0, 0);
        Assert.Equal(4, length.Current);
    }

    [Fact]
    public void EqualBoundsFixTheLength()
    {
        var length = new DraftLengthController(4, 4);
        length.Observe(4, 0);
        length.Observe(4, 4);
        Assert.Equal(4, length.Current);
    }

    /// <summary>
    /// A verification cost that grows with every row (c(n) = n, as when each drafted row routes to experts no other
    /// row uses) makes a long draft pay only near certain acceptance: at the prior α = 0.8 the best length is 1, while
    /// a flat curve (c = 1, a memory-bound dense forward) leaves the heuristic's max, also after full acceptances.
    /// </summary>
    [Fact]
    public void A_steep_verification_cost_caps_the_length_where_a_flat_one_does_not()
    {
        var capped = new DraftLengthController(1, 8, new CostCurve([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]));
        var free = new DraftLengthController(1, 8, new CostCurve([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]));
        Assert.Equal(1, capped.Current);
        Assert.Equal(8, free.Current);
        for (int i = 0; i < 20; i++) free.Observe(free.Current, free.Current);
        Assert.Equal(8, free.Current);
    }

    /// <summary>
    /// The cap is the k of most (1 − α^(k+1)) / ((1 − α)·c(k+1)) for c(n) = 1 + (n − 1)/4: k = 3 at the prior α = 0.8;
    /// α counts accepted tokens against rounds that rejected one.
    /// </summary>
    [Fact]
    public void The_cap_is_the_length_of_most_tokens_per_unit_of_time()
    {
        var cost = new CostCurve([.. Enumerable.Range(1, 9).Select(n => 1 + (n - 1) / 4.0)]);
        var length = new DraftLengthController(1, 8, cost);
        Assert.Equal(0.8, length.Acceptance, 12);
        Assert.Equal(3, length.Current);
        length.Observe(3, 1); // one accepted, one rejection: α = (1 + 3.2) / (1 + 1 + 4)
        Assert.Equal(4.2 / 6, length.Acceptance, 12);
        double a = length.Acceptance;
        int best = Enumerable.Range(1, 8).MaxBy(k => (1 - Math.Pow(a, k + 1)) / ((1 - a) * (1 + k / 4.0)));
        Assert.Equal(Math.Min(2, best), length.Current); // the heuristic's 3 − 1, unless the cap is lower
    }
}
