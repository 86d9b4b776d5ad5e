using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

public class TreeSizerTests
{
    /// <summary>Depth 1 as given, each depth below times <paramref name="decay"/> (no observations).</summary>
    private static RankAcceptance Table(double[] first, double decay) => new(2, first, decay);

    [Fact]
    public void GreedyExpansionFindsTheBestTreeOfEverySize()
    {
        // Depth ≤ 2, ≤ 3 children: 3 + 9 = 12 possible nodes; every connected subset is scored by brute force.
        var acceptance = Table([0.5, 0.3, 0.1], 1.4);
        var nodes = new List<(int Parent, double P)>();
        for (int r = 0; r < 3; r++) nodes.Add((-1, acceptance.At(1, r)));
        for (int p = 0; p < 3; p++)
            for (int r = 0; r < 3; r++) nodes.Add((p, nodes[p].P * acceptance.At(2, r)));
        var best = new double[nodes.Count + 1];
        for (int mask = 1; mask < 1 << nodes.Count; mask++)
        {
            bool connected = true;
            double sum = 0;
            for (int i = 0; i < nodes.Count; i++)
                if ((mask >> i & 1) == 1)
                {
                    if (nodes[i].Parent >= 0 && (mask >> nodes[i].Parent & 1) == 0) connected = false;
                    sum += nodes[i].P;
                }
            if (connected) best[System.Numerics.BitOperations.PopCount((uint)mask)] = Math.Max(best[System.Numerics.BitOperations.PopCount((uint)mask)], sum);
        }
        var expected = new double[nodes.Count + 1];
        int most = TreeSizer.ExpectedByNodes(acceptance, 2, 3, nodes.Count, expected);
        Assert.Equal(nodes.Count, most);
        for (int n = 1; n <= nodes.Count; n++) Assert.Equal(best[n], expected[n], 12);
    }

    [Fact]
    public void ThePlanListsParentsFirstAndSiblingsByRank()
    {
        var acceptance = RankAcceptance.Geometric(4, 5, first: 0.7, depthDecay: 0.9, rankShare: 0.5);
        TreeNodePlan[] plan = TreeSizer.Plan(acceptance, 20, 4, 5);
        Assert.Equal(20, plan.Length);
        var nextRank = new Dictionary<int, int>();
        for (int i = 0; i < plan.Length; i++)
        {
            Assert.True(plan[i].Parent < i);
            Assert.Equal(plan[i].Parent < 0 ? 1 : plan[plan[i].Parent].Depth + 1, plan[i].Depth);
            Assert.Equal(nextRank.GetValueOrDefault(plan[i].Parent), plan[i].Rank);
            nextRank[plan[i].Parent] = plan[i].Rank + 1;
        }
    }

    [Fact]
    public void AFlatCostCurveGetsABiggerTreeThanASteepOne()
    {
        var acceptance = RankAcceptance.Geometric(6, 10, first: 0.7, depthDecay: 0.95, rankShare: 0.5);
        var gpu = new CostCurve(Enumerable.Repeat(1.0, 64).ToArray());                       // 64 rows cost one
        var cpu = new CostCurve(Enumerable.Range(1, 64).Select(n => 1 + 0.3 * (n - 1)).ToArray()); // each row +30%
        TreeShape big = TreeSizer.Choose(gpu, acceptance, (d, _) => 0.05 * d, 63, 6, 10);
        TreeShape small = TreeSizer.Choose(cpu, acceptance, (d, _) => 0.05 * d, 63, 6, 10);
        Assert.Equal(63, big.Nodes);
        Assert.InRange(small.Nodes, 1, 12);
        Assert.True(small.ExpectedSpeedup > 1 && big.ExpectedSpeedup > small.ExpectedSpeedup);
        // What the objective says of the chosen size holds: no other node count does better.
        var expected = new double[64];
        TreeSizer.ExpectedByNodes(acceptance, small.Depth, small.TopK, 63, expected);
        for (int n = 1; n <= 63; n++)
            Assert.True((1 + expected[n]) / (cpu.Relative(n + 1) + 0.05 * small.Depth) <= small.ExpectedSpeedup + 1e-12);
    }

    [Fact]
    public void FixedValuesAreKept()
    {
        var acceptance = RankAcceptance.Geometric(6, 10, first: 0.7, depthDecay: 0.95, rankShare: 0.5);
        var cost = new CostCurve([1.0, 1.1, 1.2, 1.3]);
        TreeShape shape = TreeSizer.Choose(cost, acceptance, (_, _) => 0, 63, 6, 10, nodes: 7, depth: 3, topK: 2);
        Assert.Equal((7, 3, 2), (shape.Nodes, shape.Depth, shape.TopK));
    }

    [Fact]
    public void TheCostCurveIsMonotoneAndExtendsItsLastSlope()
    {
        var cost = new CostCurve([2.0, 2.2, 2.1, 2.6]);
        Assert.Equal(2.0, cost.OneRowMs);
        Assert.Equal(1.0, cost.Relative(1));
        Assert.Equal(1.1, cost.Relative(3), 12); // 2.1 measured below c(2): held at c(2)
        Assert.Equal(1.3, cost.Relative(4), 12);
        Assert.Equal(1.3 + 0.2 * 4, cost.Relative(8), 12);
    }

    [Fact]
    public void ObservedRoundsMoveTheAcceptanceTowardsWhatStood()
    {
        var planner = new TreePlanner(new CostCurve([1.0, 1.05]), RankAcceptance.Geometric(3, 3, 0.5, 1, 0.5), (_, _) => 0.1, 8, 3, 3);
        var tree = new DraftTree(8, 16);
        tree.Clear(8, 3);
        int a = tree.Add(-1, 1), b = tree.Add(-1, 2), c = tree.Add(a, 3);
        _ = b;
        double before1 = planner.Acceptance.At(1, 1), before2 = planner.Acceptance.At(2, 0);
        for (int i = 0; i < 20; i++) planner.ObserveRound(tree, [b]); // rank 1 stood at depth 1; b has no children
        Assert.True(planner.Acceptance.At(1, 1) > before1);
        Assert.True(planner.Acceptance.At(1, 0) < 0.5);
        // Depth 2 was never reached: its estimate follows depth 1's (rank 0 fell, so it falls too).
        Assert.Equal(planner.Acceptance.At(1, 0) * planner.Acceptance.DepthDecay, planner.Acceptance.At(2, 0), 12);
        double unobserved = planner.Acceptance.At(2, 0);
        planner.ObserveRound(tree, [a, c]);
        Assert.True(planner.Acceptance.At(2, 0) > unobserved);
    }
}
