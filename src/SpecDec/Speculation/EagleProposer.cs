using System.Numerics.Tensors;
using SpecDec.Model;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// EAGLE-2 (Li et al. 2024): a one-layer head predicts the target's next final-normed hidden state from the
/// current one and the next token's embedding, f̂_{t+1} = head(fc([e(x_{t+1}); f_t])), and the target's output
/// head turns a predicted state into the next token's logits. The head keeps its own KV cache of verified
/// positions (EAGLE's stable_kv), fed with the target's own features of every committed position; drafting
/// runs on top of it and is dropped after each round.
/// <para>
/// Dynamic tree: the root's children are the head's top-k; then, depth times, the k best frontier nodes by
/// cumulative log-probability are run as one batch (each fed its parent's predicted feature) and each yields k
/// children; finally the n best of all recorded nodes by cumulative log-probability form the tree (a child never
/// outscores its parent, so they are connected). Candidates are the head's top-k, point masses to the verifier,
/// which keeps sampling lossless (scheme C). n, depth and k follow this machine's measured verification cost
/// (<see cref="TreePlanner"/>) unless fixed. A head with a draft vocabulary (EAGLE-3's d2t) scores only those
/// tokens and, with the target's output-head rows, the request's context tokens outside them (see
/// <see cref="AddContextTokens"/>), so its candidates come from those (log-probabilities normalised over them); the
/// verifier still judges each by the target's whole distribution.
/// </para>
/// </summary>
public sealed class EagleProposer : IDraftProposer
{
    /// <summary>Deepest tree drafted (the acceptance table's depths).</summary>
    private const int MaxLevels = 8;

    private const int MaxRecorded = SpeculationOptions.MaxTreeTopK * (1 + SpeculationOptions.MaxTreeTopK * MaxLevels);

    private readonly Comparison<int> _byLevel;       // by level, then by recording order (siblings by rank)
    private readonly Comparer<int> _levelOrder, _scoreOrder;

    private readonly ILanguageModel _head;
    private readonly ILanguageModel _target;
    private readonly int _hidden;
    private readonly int _logitCount;           // a row of the head's logits: the target's vocabulary or the draft vocabulary
    private readonly IReadOnlyList<int>? _draftVocab; // logit j scores token _draftVocab[j] (EAGLE-3's d2t); null: token j
    private readonly int[] _layers;
    private readonly int[] _hiddenLayer;  // [1]: the head's output (its "final-normed" state is its block's output)
    private readonly float[] _logits;     // [MaxRows × _logitCount]
    private readonly float[] _row;        // [_logitCount + MaxContextTokens] a node's logits with its context tokens' after them
    private readonly float[] _logProbs;   // [_logitCount + MaxContextTokens]

    // With a draft vocabulary: the context's tokens outside it, scored by the target's own output-head rows.
    private const int MaxContextTokens = 1024;
    private readonly IOutputHeadRows? _targetRows;
    private readonly bool[] _scored = [];     // [V] in the draft vocabulary or already among the context tokens
    private readonly int[] _contextTokens = [];// [MaxContextTokens]
    private readonly float[] _contextRows = [];// [MaxContextTokens × H] their output-head rows
    private int _contextCount, _scanned;
    private readonly float[] _out;        // [MaxRows × H] predicted features of a forward's rows
    private readonly float[] _rootFeature;// [H] f̂ of the last verified position (level-1 nodes' input feature)
    private readonly int[] _tokens = new int[ForwardBatch.MaxRows];
    private readonly int[] _positions = new int[ForwardBatch.MaxRows];
    private readonly int[] _parents = new int[ForwardBatch.MaxRows];
    private readonly int[] _logitRows = new int[ForwardBatch.MaxRows];
    private readonly float[] _inFeatures; // [MaxRows × H]
    private readonly int[] _top = new int[SpeculationOptions.MaxTreeTopK];

    // Recorded draft nodes of a round: token, parent (-1: the root), level, cumulative log-prob, feature slot.
    private readonly int[] _nodeToken = new int[MaxRecorded];
    private readonly int[] _nodeParent = new int[MaxRecorded];
    private readonly int[] _nodeLevel = new int[MaxRecorded];
    private readonly float[] _nodeScore = new float[MaxRecorded];
    private readonly int[] _nodeFeature = new int[MaxRecorded]; // index into _features of its predicted f̂, or -1
    private readonly int[] _nodeRow = new int[MaxRecorded];     // its row in the current batch, or -1
    private readonly int[] _order = new int[MaxRecorded];
    private readonly int[] _treeNode = new int[MaxRecorded];
    private readonly float[] _features;   // [1 + expanded nodes × H] the root's, then expanded nodes' predicted features
    private readonly int[] _frontier = new int[SpeculationOptions.MaxTreeTopK];
    private readonly List<int> _batch = new(ForwardBatch.MaxRows);

    private float[] _pending = [];        // [capacity × H] target features of committed positions not yet fed
    private int _fed;                     // positions the head's cache holds (0 .. _fed − 1)
    private int _known;                   // positions whose target feature arrived (0 .. _known − 1)
    private int _rootAt;                  // _fed when _logits (row 0) and _rootFeature last came from the stable rows
    private IKvCache? _cache;
    private DraftTree? _tree;
    private TreePlanner? _planner;
    private CostCurve? _targetCost, _headCost, _headBodyCost; // the head's with every row's logits, and with the last row's only

    public EagleProposer(ILanguageModel head, ILanguageModel target)
    {
        if (!head.Config.IsEagleHead) throw new SpecDecException("the EAGLE proposer needs an EAGLE head");
        if (head.Config.HiddenSize != target.Config.HiddenSize || head.Config.VocabSize != target.Config.VocabSize)
            throw new SpecDecException($"the EAGLE head ({head.Config.HiddenSize} wide, {head.Config.VocabSize} tokens) does not fit the target ({target.Config.HiddenSize}, {target.Config.VocabSize})");
        _head = head;
        _target = target;
        _hidden = target.Config.HiddenSize;
        _logitCount = head.Config.LogitCount;
        _draftVocab = head.Config.DraftVocab;
        _layers = [target.Config.LayerCount];
        _hiddenLayer = [head.Config.LayerCount];
        _logits = new float[(long)ForwardBatch.MaxRows * _logitCount];
        _targetRows = _draftVocab is null ? null : target as IOutputHeadRows;
        int extra = _targetRows is null ? 0 : MaxContextTokens;
        _row = new float[_logitCount + extra];
        _logProbs = new float[_logitCount + extra];
        if (_targetRows is not null)
        {
            _scored = new bool[target.Config.VocabSize];
            foreach (int t in _draftVocab!) _scored[t] = true;
            _contextTokens = new int[MaxContextTokens];
            _contextRows = new float[MaxContextTokens * _hidden];
        }
        _out = new float[ForwardBatch.MaxRows * _hidden];
        _inFeatures = new float[ForwardBatch.MaxRows * _hidden];
        _rootFeature = new float[_hidden];
        _features = new float[(1 + MaxLevels * SpeculationOptions.MaxTreeTopK) * _hidden];
        _byLevel = (a, b) => _nodeLevel[a] != _nodeLevel[b] ? _nodeLevel[a] - _nodeLevel[b] : a - b;
        _levelOrder = Comparer<int>.Create(_byLevel);
        _scoreOrder = Comparer<int>.Create((a, b) => _nodeScore[a] != _nodeScore[b] ? _nodeScore[b].CompareTo(_nodeScore[a]) : _byLevel(a, b));
    }

    /// <summary>The final-normed state, the input of the target's output head.</summary>
    public ReadOnlySpan<int> TargetLayers => _layers;

    public TreePlanner? Planner => _planner;

    public TreeShape? TreeSize => _planner?.Shape;

    public void Reset(in ProposalRequest request)
    {
        int capacity = Math.Min(request.Capacity, _head.Config.ContextLength);
        int needed = capacity + ForwardBatch.MaxRows;
        if (_cache is null || _cache.Capacity < needed) _cache = _head.CreateCache(needed);
        else _cache.Restart(needed);
        if (_pending.Length < (long)capacity * _hidden) _pending = new float[(long)capacity * _hidden];
        _fed = _known = _rootAt = 0;
        _tree = null;
        for (int i = 0; i < _contextCount; i++) _scored[_contextTokens[i]] = false;
        _contextCount = _scanned = 0;

        SpeculationOptions s = request.Speculation;
        int? nodes = s.SizeTree ? null : s.TreeNodes;
        if (_planner is not null && _planner.Fits(s.TreeNodes, s.DraftMax, nodes, s.TreeDepth, s.TreeTopK)) return;
        _targetCost ??= CostCurve.Measure(_target);
        _headCost ??= CostCurve.Measure(_head);
        _headBodyCost ??= CostCurve.Measure(_head, logitsOfEveryRow: false);
        var acceptance = _planner?.Acceptance
            ?? RankAcceptance.Geometric(MaxLevels, SpeculationOptions.MaxTreeTopK, first: 0.6, depthDecay: 0.95, rankShare: 0.5);
        _planner = new TreePlanner(_targetCost, acceptance, DraftCost, s.TreeNodes, s.DraftMax, SpeculationOptions.MaxTreeTopK,
            nodes, s.TreeDepth, s.TreeTopK);
    }

    /// <summary>
    /// A round's drafting in one-row target forwards: the head's forward over the new verified positions (about
    /// two rows, the last one's logits), then one per level below the first, over the frontier and its ancestors
    /// (at most level × k rows) with logits for the k frontier rows only.
    /// </summary>
    private double DraftCost(int depth, int topK)
    {
        double ms = HeadMs(2, 1);
        for (int level = 1; level < depth; level++) ms += HeadMs(Math.Min(ForwardBatch.MaxRows, level * topK + topK), topK);
        return ms / _targetCost!.OneRowMs;
    }

    /// <summary>
    /// A head forward of <paramref name="rows"/> rows with <paramref name="logitRows"/> rows' logits, in ms: the
    /// last-row-only curve plus that share of what every row's logits add (the output head's rows cost alike).
    /// </summary>
    private double HeadMs(int rows, int logitRows)
    {
        double body = _headBodyCost!.OneRowMs * _headBodyCost.Relative(rows);
        if (rows <= 1) return body;
        double every = _headCost!.OneRowMs * _headCost.Relative(rows);
        return body + Math.Max(0, every - body) * (Math.Min(logitRows, rows) - 1) / (rows - 1);
    }

    public void TargetHidden(int start, int rows, ReadOnlySpan<float> hidden)
    {
        // Positions arrive once, in order; a rejected tail never arrives, so start is always _known.
        if (start != _known || (long)(start + rows) * _hidden > _pending.Length) return;
        hidden[..(rows * _hidden)].CopyTo(_pending.AsSpan(start * _hidden));
        _known = start + rows;
    }

    public void Prefill(ReadOnlySpan<int> prompt) => CatchUp(prompt);

    /// <summary>
    /// Feeds the head every verified position it has not seen: row t = (x_{t+1}, f_t) at position t, for t up to
    /// the last one whose next token is committed. Leaves the last row's logits and predicted feature.
    /// </summary>
    private bool CatchUp(ReadOnlySpan<int> context)
    {
        int end = Math.Min(_known, context.Length - 1); // row t needs x_{t+1}
        if (_fed >= end) return false;
        while (_fed < end)
        {
            int rows = Math.Min(ForwardBatch.MaxRows, end - _fed);
            for (int i = 0; i < rows; i++) _positions[i] = _fed + i;
            _head.Forward(new ForwardBatch
            {
                Tokens = context.Slice(_fed + 1, rows),
                Features = _pending.AsSpan(_fed * _hidden, rows * _hidden),
                Positions = _positions.AsSpan(0, rows),
                HiddenLayers = _hiddenLayer,
                Hidden = _out,
            }, _cache!, _logits);
            _fed += rows;
            _out.AsSpan((rows - 1) * _hidden, _hidden).CopyTo(_rootFeature);
        }
        _rootAt = _fed;
        return true;
    }

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        _tree = null;
        int n = context.Length;
        if (_planner is null || _cache is null) return;
        _cache.Rollback(_fed);
        // The head must have seen position n − 2 (whose next token is the pending root) to predict below the root.
        CatchUp(context);
        if (_rootAt != n - 1 || _rootAt == 0 || !_planner.DraftThisRound()) return;
        TreeShape shape = _planner.Shape;
        int depth = Math.Min(Math.Min(shape.Depth, tree.MaxDepth), MaxLevels), k = shape.TopK;
        if (depth < 1 || tree.Budget < 1) return;

        // Level 1: the root's children from the last verified row's logits; their input feature is the root's f̂.
        _rootFeature.CopyTo(_features.AsSpan(0, _hidden));
        int expanded = 1; // slot 0: the root's predicted feature
        AddContextTokens(context);
        int recorded = AddChildren(_logits.AsSpan(0, _logitCount), _rootFeature, parent: -1, parentScore: 0, level: 1, k, 0);
        int frontierCount = Math.Min(k, recorded);
        for (int i = 0; i < frontierCount; i++) _frontier[i] = i;

        for (int level = 1; level < depth; level++)
        {
            // The frontier and its ancestors, parents first, as one tree batch over the stable cache.
            _batch.Clear();
            for (int i = 0; i < recorded; i++) _nodeRow[i] = -1;
            for (int f = 0; f < frontierCount; f++) Collect(_frontier[f]);
            if (_batch.Count > ForwardBatch.MaxRows) break;
            _batch.Sort(_byLevel);
            int rows = _batch.Count;
            for (int r = 0; r < rows; r++) _nodeRow[_batch[r]] = r;
            for (int r = 0; r < rows; r++)
            {
                int node = _batch[r], parent = _nodeParent[node];
                _tokens[r] = _nodeToken[node];
                _positions[r] = n - 2 + _nodeLevel[node];
                _parents[r] = parent < 0 ? -1 : _nodeRow[parent];
                int slot = parent < 0 ? 0 : _nodeFeature[parent];
                _features.AsSpan(slot * _hidden, _hidden).CopyTo(_inFeatures.AsSpan(r * _hidden));
            }
            for (int f = 0; f < frontierCount; f++) _logitRows[f] = _nodeRow[_frontier[f]];
            _head.Forward(new ForwardBatch
            {
                Tokens = _tokens.AsSpan(0, rows),
                Features = _inFeatures.AsSpan(0, rows * _hidden),
                Positions = _positions.AsSpan(0, rows),
                Parents = _parents.AsSpan(0, rows),
                LogitRows = _logitRows.AsSpan(0, frontierCount),
                HiddenLayers = _hiddenLayer,
                Hidden = _out,
            }, _cache, _logits);
            _cache.Rollback(_fed);

            int firstChild = recorded;
            for (int f = 0; f < frontierCount; f++)
            {
                int node = _frontier[f];
                _nodeFeature[node] = expanded;
                _out.AsSpan(_nodeRow[node] * _hidden, _hidden).CopyTo(_features.AsSpan(expanded++ * _hidden));
                recorded = AddChildren(_logits.AsSpan(f * _logitCount, _logitCount), _out.AsSpan(_nodeRow[node] * _hidden, _hidden), node, _nodeScore[node], level + 1, k, recorded);
            }
            // The next frontier: the k best new children by cumulative log-probability.
            frontierCount = Best(firstChild, recorded, Math.Min(k, recorded - firstChild), _frontier);
        }

        // Rerank: the best nodes of all recorded, then parents first (by level) and siblings in rank order.
        int keep = Math.Min(Math.Min(shape.Nodes, tree.Budget), recorded);
        for (int i = 0; i < recorded; i++) _order[i] = i;
        Array.Sort(_order, 0, recorded, _scoreOrder);
        Array.Sort(_order, 0, keep, _levelOrder);
        for (int i = 0; i < recorded; i++) _treeNode[i] = -1;
        for (int i = 0; i < keep; i++)
        {
            int node = _order[i], parent = _nodeParent[node];
            if (parent >= 0 && _treeNode[parent] < 0) continue; // not connected (a tie): leave it out
            _treeNode[node] = tree.Add(parent < 0 ? -1 : _treeNode[parent], _nodeToken[node]);
        }
        _tree = tree;
    }

    /// <summary>Adds <paramref name="node"/>'s ancestors, then it, to the batch (once each).</summary>
    private void Collect(int node)
    {
        if (node < 0 || _nodeRow[node] == -2) return;
        Collect(_nodeParent[node]);
        _nodeRow[node] = -2;
        _batch.Add(node);
    }

    /// <summary>
    /// With a draft vocabulary, the committed tokens not seen before that lie outside it (up to
    /// <see cref="MaxContextTokens"/> a request): a context's rare tokens (identifiers, names, numbers) are the ones
    /// its continuation copies, and a frequency-chosen vocabulary misses them.
    /// </summary>
    private void AddContextTokens(ReadOnlySpan<int> context)
    {
        if (_targetRows is null) return;
        for (; _scanned < context.Length && _contextCount < MaxContextTokens; _scanned++)
        {
            int t = context[_scanned];
            if ((uint)t >= (uint)_scored.Length || _scored[t]) continue;
            _scored[t] = true;
            _contextTokens[_contextCount] = t;
            _targetRows.OutputHeadRow(t, _contextRows.AsSpan(_contextCount++ * _hidden, _hidden));
        }
    }

    /// <summary>
    /// Records the k most likely next tokens under a node, best first; returns the new count. <paramref name="logits"/>
    /// are the head's (over the draft vocabulary, if any); the context tokens outside it are scored from the node's
    /// <paramref name="feature"/>, the vector the output head multiplies.
    /// </summary>
    private int AddChildren(ReadOnlySpan<float> logits, ReadOnlySpan<float> feature, int parent, float parentScore, int level, int k, int recorded)
    {
        k = Math.Min(k, MaxRecorded - recorded);
        if (k <= 0) return recorded;
        if (_contextCount > 0)
        {
            Span<float> row = _row.AsSpan(0, _logitCount + _contextCount);
            logits.CopyTo(row);
            for (int e = 0; e < _contextCount; e++) row[_logitCount + e] = TensorPrimitives.Dot(feature, _contextRows.AsSpan(e * _hidden, _hidden));
            logits = row;
        }
        Span<float> logProbs = _logProbs.AsSpan(0, logits.Length);
        // log-softmax at temperature 1: l − max − log Σ exp(l − max)
        float max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, logProbs);
        TensorPrimitives.Exp(logProbs, logProbs);
        float logSum = MathF.Log(TensorPrimitives.Sum(logProbs));
        CandidateSelection.SelectTopSorted(logits, _top.AsSpan(0, k));
        for (int r = 0; r < k; r++)
        {
            int i = recorded++, j = _top[r];
            _nodeToken[i] = _draftVocab is null ? j : j < _logitCount ? _draftVocab[j] : _contextTokens[j - _logitCount];
            _nodeParent[i] = parent;
            _nodeLevel[i] = level;
            _nodeScore[i] = parentScore + (logits[j] - max - logSum);
            _nodeFeature[i] = -1;
        }
        return recorded;
    }

    /// <summary>The <paramref name="count"/> best nodes of [from, to) by score into <paramref name="into"/>; returns count.</summary>
    private int Best(int from, int to, int count, int[] into)
    {
        int filled = 0;
        for (int i = from; i < to; i++)
        {
            int at = filled < count ? filled++ : count;
            if (at == count && _nodeScore[i] <= _nodeScore[into[count - 1]]) continue;
            if (at == count) at = count - 1;
            while (at > 0 && _nodeScore[into[at - 1]] < _nodeScore[i])
            {
                into[at] = into[at - 1];
                at--;
            }
            into[at] = i;
        }
        return filled;
    }

    public void Accepted(ReadOnlySpan<int> path)
    {
        if (_tree is not null) _planner!.ObserveRound(_tree, path);
        _tree = null;
    }
}
