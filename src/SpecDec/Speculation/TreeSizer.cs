namespace SpecDec.Speculation;

/// <summary>
/// Chooses a draft tree's size for this machine (Sequoia's objective, Chen et al. 2024): the shape that
/// maximises expected tokens per unit of time,
/// <code>
///   (1 + E[accepted](n, d, k)) / (c(n + 1) + draft(d, k))
/// </code>
/// where c is the target's measured verification cost curve (<see cref="CostCurve"/>, in one-row forwards),
/// draft the proposer's own cost in the same unit, and E the expected accepted drafts of the best n-node tree
/// at most d deep with at most k children per node under the per-depth, per-rank acceptance
/// (<see cref="RankAcceptance"/>). For fixed (d, k) the best n-node tree is the n nodes of highest path
/// probability (a child never beats its parent, so they form a tree): one greedy expansion yields E for every
/// n at once. A 2-core CPU, where c rises quickly, gets small trees; a GPU, where c stays flat, large ones.
/// Values fixed by the user (<c>--tree-nodes/--tree-depth/--tree-topk</c>) are kept and the rest chosen.
/// </summary>
public static class TreeSizer
{
    /// <param name="draftCost">The proposer's cost per round for depth d and top-k k, in one-row target forwards.</param>
    /// <param name="maxNodes">Most nodes (≤ 63: the verification forward holds one row more).</param>
    /// <param name="nodes">A fixed node count, or null to choose.</param>
    public static TreeShape Choose(CostCurve cost, RankAcceptance acceptance, Func<int, int, double> draftCost,
        int maxNodes, int maxDepth, int maxTopK, int? nodes = null, int? depth = null, int? topK = null)
    {
        maxNodes = Math.Clamp(maxNodes, 1, SpeculationOptions.MaxVerifyRows - 1);
        TreeShape best = default;
        double bestRate = double.NegativeInfinity;
        var expected = new double[maxNodes + 1];
        for (int d = depth ?? 1; d <= (depth ?? maxDepth); d++)
            for (int k = topK ?? 1; k <= (topK ?? maxTopK); k++)
            {
                int most = ExpectedByNodes(acceptance, d, k, nodes ?? maxNodes, expected);
                double drafting = draftCost(d, k);
                for (int n = nodes ?? 1; n <= (nodes ?? most); n++)
                {
                    double e = expected[Math.Min(n, most)];
                    double rate = (1 + e) / (cost.Relative(n + 1) + drafting);
                    if (rate > bestRate + 1e-12)
                    {
                        bestRate = rate;
                        best = new TreeShape(n, d, k, e, rate, cost.Relative(n + 1), drafting);
                    }
                }
            }
        return best;
    }

    /// <summary>
    /// expected[n] = E[accepted] of the best n-node tree (depth ≤ d, ≤ k children each), n = 1..limit, by greedy
    /// expansion; returns how many nodes such a tree can have at most (fewer than limit when d and k run out).
    /// </summary>
    public static int ExpectedByNodes(RankAcceptance acceptance, int depth, int topK, int limit, Span<double> expected) =>
        Expand(acceptance, depth, topK, limit, expected, default);

    /// <summary>
    /// The best tree of at most <paramref name="nodes"/> nodes for (depth, top-k) as a static plan (Medusa's
    /// "choices"): node i's parent (-1: the root), its rank among its siblings and its depth, parents first.
    /// </summary>
    public static TreeNodePlan[] Plan(RankAcceptance acceptance, int nodes, int depth, int topK)
    {
        var plan = new TreeNodePlan[nodes];
        int n = Expand(acceptance, depth, topK, nodes, new double[nodes + 1], plan);
        return plan[..n];
    }

    private static int Expand(RankAcceptance acceptance, int depth, int topK, int limit, Span<double> expected, Span<TreeNodePlan> plan)
    {
        // Candidates scored by path probability: the next rank below a placed node's parent, or a placed node's first child.
        var frontier = new PriorityQueue<(double P, int Depth, int Rank, int Parent, double ParentP), double>();
        frontier.Enqueue((acceptance.At(1, 0), 1, 0, -1, 1), -acceptance.At(1, 0));
        double sum = 0;
        int n = 0;
        expected[0] = 0;
        while (n < limit && frontier.TryDequeue(out var c, out _))
        {
            int node = n++;
            if (!plan.IsEmpty) plan[node] = new TreeNodePlan(c.Parent, c.Rank, c.Depth);
            sum += c.P;
            expected[n] = sum;
            if (c.Rank + 1 < topK)
            {
                double sibling = c.ParentP * acceptance.At(c.Depth, c.Rank + 1);
                frontier.Enqueue((sibling, c.Depth, c.Rank + 1, c.Parent, c.ParentP), -sibling);
            }
            if (c.Depth < depth)
            {
                double child = c.P * acceptance.At(c.Depth + 1, 0);
                frontier.Enqueue((child, c.Depth + 1, 0, node, c.P), -child);
            }
        }
        return n;
    }
}
