using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

public class AcceptanceEstimateTests
{
    [Fact]
    public void ExpectedTokensIsTheGeometricSumOfAcceptance()
    {
        // 1 + α + α² + α³ for a chain of 3.
        Assert.Equal(1 + 0.5 + 0.25 + 0.125, AcceptanceEstimate.ExpectedTokens(0.5, 3), 12);
        Assert.Equal(1, AcceptanceEstimate.ExpectedTokens(0, 5), 12);
        Assert.Equal(5, AcceptanceEstimate.ExpectedTokens(1, 4), 12);
    }

    [Fact]
    public void LearnsAcceptedTokensAgainstRejections()
    {
        var estimate = new AcceptanceEstimate();
        Assert.Equal(0.5, estimate.Alpha, 12); // the prior
        estimate.Observe(depth: 4, accepted: 4); // 4 successes, no failure
        estimate.Observe(depth: 4, accepted: 1); // 1 success, then a rejection
        // Discounted: (4·0.97 + 1 + prior 1) / ((4·0.97 + 2) + prior 2).
        Assert.Equal((4 * 0.97 + 1 + 1) / (4 * 0.97 + 2 + 2), estimate.Alpha, 12);
        estimate.Observe(depth: 0, accepted: 0); // nothing proposed: no evidence
        Assert.Equal((4 * 0.97 + 1 + 1) / (4 * 0.97 + 2 + 2), estimate.Alpha, 12);
    }

    [Fact]
    public void FollowsAWorkloadThatChanges()
    {
        var estimate = new AcceptanceEstimate();
        for (int i = 0; i < 200; i++) estimate.Observe(depth: 4, accepted: 4);
        Assert.True(estimate.Alpha > 0.95, $"{estimate.Alpha}");
        for (int i = 0; i < 100; i++) estimate.Observe(depth: 4, accepted: 0);
        Assert.True(estimate.Alpha < 0.2, $"{estimate.Alpha}");
    }

    [Fact]
    public void TheBonusShrinksAsASourceIsTried()
    {
        var tried = new AcceptanceEstimate();
        var untried = new AcceptanceEstimate();
        for (int i = 0; i < 30; i++) tried.Observe(depth: 2, accepted: 1);
        Assert.True(untried.Optimistic(1000) - untried.Alpha > tried.Optimistic(1000) - tried.Alpha);
        Assert.True(tried.Optimistic(1000) > tried.Alpha);
        Assert.True(untried.Optimistic(1000) <= 0.98);
    }
}
