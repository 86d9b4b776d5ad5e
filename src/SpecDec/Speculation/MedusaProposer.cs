using System.Diagnostics;
using SpecDec.Model;
using SpecDec.Model.Heads;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// Medusa (Cai et al. 2024): heads over the target's final-normed hidden state f_t of the last verified
/// position each guess one more token ahead (head i: x_{t+i+2}; x_{t+1}, the pending token, is known). The
/// round's tree is static: the plan of <see cref="TreePlanner"/> (the nodes most likely to stand under the
/// acceptance by depth and rank, as Medusa's "choices" tables are built), node (depth j, rank r) being head
/// j − 1's r-th most likely token, independent of its parent. Candidates are point masses, so the verifier's
/// tree rule keeps sampling lossless (scheme C). The tree's size follows this machine's verification cost.
/// </summary>
public sealed class MedusaProposer : IDraftProposer
{
    private readonly IMedusaHeads _heads;
    private readonly ILanguageModel _target;
    private readonly int[] _layers;
    private readonly float[] _feature;  // [hidden] final-normed state of the last reported position
    private readonly float[] _logits;   // [heads × V]
    private readonly int[] _top;        // [heads × MaxTreeTopK] each head's best tokens, best first
    private readonly int[] _nodeOf;     // [plan nodes] tree node of each plan node, or -1
    private int _featureAt = -1;        // position of _feature
    private DraftTree? _tree;           // the last proposal, read back in Accepted
    private TreePlanner? _planner;
    private CostCurve? _cost;
    private double _headsMs;

    public MedusaProposer(IMedusaHeads heads, ILanguageModel target)
    {
        if (heads.VocabSize != target.Config.VocabSize)
            throw new SpecDecException($"the Medusa heads score {heads.VocabSize} tokens but the target {target.Config.VocabSize}");
        _heads = heads;
        _target = target;
        _layers = [target.Config.LayerCount];
        _feature = new float[heads.Config.HiddenSize];
        _logits = new float[(long)heads.Config.HeadCount * heads.VocabSize];
        _top = new int[heads.Config.HeadCount * SpeculationOptions.MaxTreeTopK];
        _nodeOf = new int[SpeculationOptions.MaxVerifyRows];
    }

    public ReadOnlySpan<int> TargetLayers => _layers;

    /// <summary>The tree size chosen for this machine (after the first request).</summary>
    public TreePlanner? Planner => _planner;

    public TreeShape? TreeSize => _planner?.Shape;

    public void Reset(in ProposalRequest request)
    {
        _featureAt = -1;
        _tree = null;
        SpeculationOptions s = request.Speculation;
        int? nodes = s.SizeTree ? null : s.TreeNodes;
        if (_planner is not null && _planner.Fits(s.TreeNodes, s.DraftMax, nodes, s.TreeDepth, s.TreeTopK)) return;
        _cost ??= CostCurve.Measure(_target);
        if (_headsMs == 0) _headsMs = TimeHeads();
        var acceptance = _planner?.Acceptance
            ?? RankAcceptance.Geometric(_heads.Config.HeadCount, SpeculationOptions.MaxTreeTopK, first: 0.6, depthDecay: 0.75, rankShare: 0.6);
        double drafting = _headsMs / _cost.OneRowMs; // the heads run once per round, whatever the tree
        _planner = new TreePlanner(_cost, acceptance, (_, _) => drafting, s.TreeNodes, s.DraftMax, SpeculationOptions.MaxTreeTopK,
            nodes, s.TreeDepth, s.TreeTopK);
    }

    public void Prefill(ReadOnlySpan<int> prompt) { }

    public void TargetHidden(int start, int rows, ReadOnlySpan<float> hidden)
    {
        int h = _feature.Length;
        hidden.Slice((rows - 1) * h, h).CopyTo(_feature);
        _featureAt = start + rows - 1;
    }

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        _tree = null;
        // The feature must be the position before the pending token (a one-token prompt has none yet).
        if (_planner is null || _featureAt != context.Length - 2 || !_planner.DraftThisRound()) return;
        TreeShape shape = _planner.Shape;
        int depth = Math.Min(Math.Min(shape.Depth, tree.MaxDepth), _heads.Config.HeadCount);
        if (depth < 1 || tree.Budget < 1) return;
        _heads.Forward(_feature, _logits);
        int k = shape.TopK, v = _heads.VocabSize;
        for (int j = 0; j < depth; j++) CandidateSelection.SelectTopSorted(_logits.AsSpan(j * v, v), _top.AsSpan(j * SpeculationOptions.MaxTreeTopK, k));

        TreeNodePlan[] plan = _planner.Plan;
        for (int p = 0; p < plan.Length && !tree.IsFull; p++)
        {
            TreeNodePlan node = plan[p];
            int parent = node.Parent < 0 ? -1 : _nodeOf[node.Parent];
            _nodeOf[p] = -1;
            if (node.Depth > depth || (node.Parent >= 0 && parent < 0)) continue;
            _nodeOf[p] = tree.Add(parent, _top[(node.Depth - 1) * SpeculationOptions.MaxTreeTopK + node.Rank]);
        }
        _tree = tree;
    }

    public void Accepted(ReadOnlySpan<int> path)
    {
        if (_tree is not null) _planner!.ObserveRound(_tree, path);
        _tree = null;
    }

    /// <summary>The heads' time per round, milliseconds (the fastest of a few runs).</summary>
    private double TimeHeads()
    {
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long start = Stopwatch.GetTimestamp();
            _heads.Forward(_feature, _logits);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return best;
    }
}
