namespace SpecDec.Speculation;

/// <summary>
/// One round's draft: a tree of candidate tokens below the pending token (the root, which the target has not
/// yet seen). A chain is the tree in which every node has one child. Nodes are numbered in the order they are
/// added, so a parent always precedes its children; a node's children keep their order (the order the verifier
/// tries them in). Each node may carry the draft distribution q it was drawn from, as a row of
/// <see cref="Q"/>; siblings drawn from the same distribution share one row. How siblings were drawn is
/// <see cref="Draws"/>. Buffers are sized once: adding nodes allocates nothing.
/// <para>
/// Example: pending "the", drafts "cat sat" and "dog": Add(-1, cat) = 0, Add(0, sat) = 1, Add(-1, dog) = 2.
/// The target verifies rows [the, cat, sat, dog] with parents [-1, 0, 1, 0] at depths [0, 1, 2, 1].
/// </para>
/// </summary>
public sealed class DraftTree
{
    private readonly int[] _tokens;     // [capacity] token of each node
    private readonly int[] _parents;    // [capacity] parent node, or -1 for a child of the root
    private readonly int[] _depths;     // [capacity] 1 for a child of the root
    private readonly int[] _qRows;      // [capacity] row of Q the node was drawn from, or -1 (point mass)
    private readonly int[] _nextSibling;// [capacity] next child of the same parent, or -1
    private readonly int[] _firstChild; // [capacity + 1] first child of node i at i + 1 (the root at 0), or -1
    private readonly int[] _lastChild;  // [capacity + 1] likewise, the last child: appending keeps sibling order
    private float[] _q = [];            // [qRows × vocab] draft distributions, grown on first use
    private int _qRowCount;

    /// <param name="capacity">Most nodes a tree may ever hold (the verification forward holds one row more).</param>
    /// <param name="vocabSize">Width of a q row: the target's vocabulary.</param>
    public DraftTree(int capacity, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        Capacity = capacity;
        VocabSize = vocabSize;
        _tokens = new int[capacity];
        _parents = new int[capacity];
        _depths = new int[capacity];
        _qRows = new int[capacity];
        _nextSibling = new int[capacity];
        _firstChild = new int[capacity + 1];
        _lastChild = new int[capacity + 1];
        Clear(capacity);
    }

    public int Capacity { get; }
    public int VocabSize { get; }

    /// <summary>Nodes in the tree.</summary>
    public int Count { get; private set; }

    /// <summary>Most nodes this round may hold (set by the loop from the draft length and the room left).</summary>
    public int Budget { get; private set; }

    /// <summary>Deepest a node may be this round (the draft length; a chain of Budget nodes at most).</summary>
    public int MaxDepth { get; private set; }

    /// <summary>How the siblings below each node were drawn; decides the verifier's acceptance rule.</summary>
    public SiblingDraws Draws { get; set; }

    /// <summary>The deepest node's depth (0 for an empty tree).</summary>
    public int Depth { get; private set; }

    public bool IsFull => Count == Budget;
    public bool IsChain => Depth == Count;

    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Count);
    public ReadOnlySpan<int> Parents => _parents.AsSpan(0, Count);
    public ReadOnlySpan<int> Depths => _depths.AsSpan(0, Count);

    /// <summary>
    /// Empties the tree for a round of at most <paramref name="budget"/> nodes at most <paramref name="maxDepth"/>
    /// deep (default: the budget, any chain); draws become point masses.
    /// </summary>
    public void Clear(int budget, int? maxDepth = null)
    {
        if (budget < 0 || budget > Capacity) throw new ArgumentOutOfRangeException(nameof(budget), budget, $"budget must be in 0..{Capacity}");
        Budget = budget;
        MaxDepth = Math.Clamp(maxDepth ?? budget, 0, budget);
        Count = 0;
        Depth = 0;
        _qRowCount = 0;
        Draws = SiblingDraws.PointMass;
        _firstChild[0] = _lastChild[0] = -1;
    }

    /// <summary>
    /// Appends <paramref name="token"/> as the last child of <paramref name="parent"/> (-1: the root), drawn from
    /// q row <paramref name="qRow"/> (-1: a point mass). Returns the new node's index.
    /// </summary>
    public int Add(int parent, int token, int qRow = -1)
    {
        if (Count == Budget) throw new InvalidOperationException($"the draft tree is full ({Budget} nodes)");
        if (parent < -1 || parent >= Count) throw new ArgumentOutOfRangeException(nameof(parent), parent, $"parent must be -1 or a node in 0..{Count - 1}");
        if (parent >= 0 && _depths[parent] == MaxDepth) throw new InvalidOperationException($"the draft tree is at most {MaxDepth} deep");
        if (qRow < -1 || qRow >= _qRowCount) throw new ArgumentOutOfRangeException(nameof(qRow), qRow, $"q row must be -1 or in 0..{_qRowCount - 1}");
        int node = Count++;
        _tokens[node] = token;
        _parents[node] = parent;
        _depths[node] = parent < 0 ? 1 : _depths[parent] + 1;
        _qRows[node] = qRow;
        _nextSibling[node] = -1;
        _firstChild[node + 1] = _lastChild[node + 1] = -1;
        if (_lastChild[parent + 1] < 0) _firstChild[parent + 1] = node;
        else _nextSibling[_lastChild[parent + 1]] = node;
        _lastChild[parent + 1] = node;
        Depth = Math.Max(Depth, _depths[node]);
        return node;
    }

    /// <summary>A fresh q row [vocab] (zeroed is not promised: the proposer writes all of it) and its index.</summary>
    public int NewQRow(out Span<float> row)
    {
        if (_qRowCount == Capacity) throw new InvalidOperationException($"the draft tree has no room for another q row ({Capacity})");
        if (_q.Length == 0) _q = new float[(long)Capacity * VocabSize];
        int index = _qRowCount++;
        row = _q.AsSpan(index * VocabSize, VocabSize);
        return index;
    }

    /// <summary>The distribution node <paramref name="node"/> was drawn from; empty for a point mass.</summary>
    public ReadOnlySpan<float> Q(int node) => _qRows[node] < 0 ? default : _q.AsSpan(_qRows[node] * VocabSize, VocabSize);

    /// <summary>First child of <paramref name="node"/> (-1: of the root), or -1 for a leaf.</summary>
    public int FirstChild(int node) => _firstChild[node + 1];

    /// <summary>The child after <paramref name="node"/> below the same parent, or -1.</summary>
    public int NextSibling(int node) => _nextSibling[node];

    /// <summary>The child of <paramref name="node"/> (-1: of the root) whose token is <paramref name="token"/>, or -1.</summary>
    public int Child(int node, int token)
    {
        int c = FirstChild(node);
        while (c >= 0 && _tokens[c] != token) c = _nextSibling[c];
        return c;
    }

    /// <summary>
    /// The verification forward's tree: row 0 is the root (the pending token), row i + 1 is node i.
    /// Writes [Count + 1] parents (-1 for the root) and RoPE positions (<paramref name="rootPosition"/> + depth).
    /// </summary>
    public void ForwardRows(int rootPosition, Span<int> parents, Span<int> positions)
    {
        parents[0] = -1;
        positions[0] = rootPosition;
        for (int i = 0; i < Count; i++)
        {
            parents[i + 1] = _parents[i] + 1;
            positions[i + 1] = rootPosition + _depths[i];
        }
    }
}
