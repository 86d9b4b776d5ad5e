namespace SpecDec.Speculation;

/// <summary>
/// Counts the continuations retrieved for one round in a trie (every prefix of every continuation is a node
/// with the number of continuations that start with it) and ranks its nodes best-first by the chance the target
/// follows them (<see cref="Rank"/>: the share of continuations through the node, discounted per level), so the
/// caller drafts the most likely ones as a tree, siblings most frequent first (REST's selection; suffix
/// decoding's scored tree).
/// Example: continuations "a b", "a b", "a c", "d", α 1: a 3/4, a b 2/4, a c 1/4, d 1/4; a budget of 3 takes a,
/// a b and then a c (depth 2) or d (depth 1): d, the shallower.
/// </summary>
internal sealed class ContinuationTrie
{
    private int[] _token = [];       // [capacity] node's token (node 0 is the root)
    private int[] _count = [];       // [capacity] continuations through the node
    private int[] _depth = [];       // [capacity]
    private int[] _parent = [];      // [capacity]
    private int[] _firstChild = [];  // [capacity] or −1
    private int[] _nextSibling = []; // [capacity] or −1
    private int[] _draftNode = [];   // [capacity] the node's index in the draft tree
    private double[] _p = [];        // [capacity] the chance the target follows the path to the node
    private int[] _ranked = [];      // [capacity] nodes best-first (Rank)
    private readonly PriorityQueue<int, (double, int)> _frontier = new();
    private int _nodes;

    /// <summary>Sizes it for <paramref name="continuations"/> continuations of at most <paramref name="depth"/> tokens.</summary>
    public void Reserve(int continuations, int depth)
    {
        int capacity = continuations * depth + 1;
        if (_token.Length >= capacity) return;
        _token = new int[capacity];
        _count = new int[capacity];
        _depth = new int[capacity];
        _parent = new int[capacity];
        _firstChild = new int[capacity];
        _nextSibling = new int[capacity];
        _draftNode = new int[capacity];
        _p = new double[capacity];
        _ranked = new int[capacity];
        _frontier.EnsureCapacity(capacity);
    }

    public void Clear()
    {
        _nodes = 1;
        _firstChild[0] = -1;
        _count[0] = 0;
        _depth[0] = 0;
    }

    /// <summary>Counts <paramref name="continuation"/> and each of its prefixes once.</summary>
    public void Add(ReadOnlySpan<int> continuation)
    {
        int node = 0;
        _count[0]++;
        foreach (int token in continuation)
        {
            int child = _firstChild[node];
            while (child >= 0 && _token[child] != token) child = _nextSibling[child];
            if (child < 0)
            {
                if (_nodes == _token.Length) return; // sized by Reserve for what a round adds
                child = _nodes++;
                _token[child] = token;
                _count[child] = 0;
                _depth[child] = _depth[node] + 1;
                _parent[child] = node;
                _firstChild[child] = -1;
                _nextSibling[child] = _firstChild[node];
                _firstChild[node] = child;
            }
            _count[child]++;
            node = child;
        }
    }

    /// <summary>
    /// Ranks the nodes best-first by p = α^depth · share, the chance the target follows that path (the share of the
    /// retrieved continuations through the node, discounted per level by <paramref name="alpha"/>, how often a level
    /// of such a proposal held), shallower first on ties; at most <paramref name="budget"/> of them, at most
    /// <paramref name="maxDepth"/> deep. A node's p is at most its parent's, so every ranked node's parent ranks before
    /// it, and any prefix of the ranking is a tree. Returns how many were ranked; <see cref="Probability"/> reads them.
    /// </summary>
    public int Rank(int budget, int maxDepth, double alpha)
    {
        _frontier.Clear();
        _p[0] = 1;
        int ranked = 0;
        Push(0, alpha);
        while (ranked < budget && _frontier.TryDequeue(out int node, out _))
        {
            _ranked[ranked++] = node;
            if (_depth[node] < maxDepth) Push(node, alpha);
        }
        return ranked;
    }

    /// <summary>p of the <paramref name="i"/>-th ranked node.</summary>
    public double Probability(int i) => _p[_ranked[i]];

    /// <summary>Adds the first <paramref name="count"/> ranked nodes to <paramref name="tree"/> (empty), siblings most likely first.</summary>
    public void Draft(DraftTree tree, int count)
    {
        _draftNode[0] = -1;
        for (int i = 0; i < count; i++)
        {
            int node = _ranked[i];
            _draftNode[node] = tree.Add(_draftNode[_parent[node]], _token[node]);
        }
    }

    private void Push(int node, double alpha)
    {
        for (int c = _firstChild[node]; c >= 0; c = _nextSibling[c])
        {
            _p[c] = _p[node] * alpha * _count[c] / _count[node];
            _frontier.Enqueue(c, (-_p[c], _depth[c]));
        }
    }
}
