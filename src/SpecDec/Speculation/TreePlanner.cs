namespace SpecDec.Speculation;

/// <summary>
/// A proposer's tree size over a session: chosen by <see cref="TreeSizer"/> from the target's measured cost curve,
/// the proposer's own drafting cost and the acceptance by depth and rank, which it keeps learning from every
/// verified round; every <see cref="ReplanEvery"/> observations the size is chosen again. Values the user fixed
/// stay fixed. <see cref="Plan"/> is the static tree of the current shape (the best nodes by expected acceptance).
/// </summary>
public sealed class TreePlanner
{
    /// <summary>Observed parents between re-sizings.</summary>
    public const int ReplanEvery = 64;

    /// <summary>While no tree is expected to beat plain decoding, one round in this many still drafts, to keep learning.</summary>
    public const int ExploreEvery = 16;

    private int _quietRounds;

    private readonly CostCurve _cost;
    private readonly Func<int, int, double> _draftCost;
    private readonly int _maxNodes, _maxDepth, _maxTopK;
    private readonly int? _nodes, _depth, _topK;
    private int _observed;

    /// <param name="draftCost">Drafting cost per round for (depth, top-k), in one-row target forwards.</param>
    public TreePlanner(CostCurve cost, RankAcceptance acceptance, Func<int, int, double> draftCost,
        int maxNodes, int maxDepth, int maxTopK, int? nodes = null, int? depth = null, int? topK = null)
    {
        _cost = cost;
        Acceptance = acceptance;
        _draftCost = draftCost;
        _maxNodes = maxNodes;
        _maxDepth = Math.Min(maxDepth, acceptance.Depths);
        _maxTopK = Math.Min(maxTopK, acceptance.Ranks);
        _nodes = nodes;
        _depth = depth is int d ? Math.Min(d, _maxDepth) : null;
        _topK = topK is int k ? Math.Min(k, _maxTopK) : null;
        Replan();
    }

    public CostCurve Cost => _cost;
    public RankAcceptance Acceptance { get; }
    public TreeShape Shape { get; private set; }
    public TreeNodePlan[] Plan { get; private set; } = [];

    /// <summary>
    /// Whether to draft this round: when the chosen tree is expected to beat plain decoding on this machine (or the
    /// user fixed its size), else one round in <see cref="ExploreEvery"/>: speculation that costs more than it
    /// saves is left off rather than forced.
    /// </summary>
    public bool DraftThisRound() => _nodes is not null || Shape.ExpectedSpeedup > 1 || ++_quietRounds % ExploreEvery == 0;

    /// <summary>See <see cref="RankAcceptance.Observe"/>; re-sizes every <see cref="ReplanEvery"/> calls.</summary>
    public void Observe(int depth, int children, int accepted)
    {
        Acceptance.Observe(depth, children, accepted);
        if (++_observed % ReplanEvery == 0) Replan();
    }

    /// <summary>
    /// Learns from a verified round: along the accepted <paramref name="path"/> of <paramref name="tree"/> (whose
    /// siblings are in rank order, best first), which rank stood below each reached node, and that none stood
    /// below the last one.
    /// </summary>
    public void ObserveRound(DraftTree tree, ReadOnlySpan<int> path)
    {
        int parent = -1;
        for (int j = 0; j <= path.Length; j++)
        {
            int children = 0, rank = -1;
            for (int c = tree.FirstChild(parent); c >= 0; c = tree.NextSibling(c))
            {
                if (j < path.Length && c == path[j]) rank = children;
                children++;
            }
            if (children == 0) return;
            Observe(j + 1, children, rank);
            if (j == path.Length) return;
            parent = path[j];
        }
    }

    /// <summary>Whether this planner was made for these limits (a request with other options needs another).</summary>
    public bool Fits(int maxNodes, int maxDepth, int? nodes, int? depth, int? topK) =>
        maxNodes == _maxNodes && Math.Min(maxDepth, Acceptance.Depths) == _maxDepth && nodes == _nodes
        && (depth is int d ? Math.Min(d, _maxDepth) : (int?)null) == _depth && (topK is int k ? Math.Min(k, _maxTopK) : (int?)null) == _topK;

    private void Replan()
    {
        Shape = TreeSizer.Choose(_cost, Acceptance, _draftCost, _maxNodes, _maxDepth, _maxTopK, _nodes, _depth, _topK);
        Plan = TreeSizer.Plan(Acceptance, Shape.Nodes, Shape.Depth, Shape.TopK);
    }
}
