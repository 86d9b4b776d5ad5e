namespace SpecDec.Speculation;

/// <summary>
/// Counts the continuations retrieved for one round in a trie (every prefix of every continuation is a node
/// with the number of continuations that start with it) and drafts the most frequent ones as a tree: nodes
/// are taken best-first by count, shallower first on ties, until the tree's budget is spent. A node's count
/// is at least its children's, so every taken node's parent was taken before it, and siblings go to the
/// verifier most frequent first (REST's selection; Medusa-style trees from counts).
/// Example: continuations "a b", "a b", "a c", "d": counts a 3, a b 2, a c 1, d 1; a budget of 3 takes a, a b
/// and then a c (depth 2) or d (depth 1): d, the shallower.
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
    private readonly PriorityQueue<int, long> _frontier = new();
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
    /// Adds the most frequent nodes to <paramref name="tree"/> (empty), within its budget, at most
    /// <paramref name="maxDepth"/> deep, and only nodes through which at least <paramref name="minShare"/> of
    /// the continuations run (an estimate of the chance the target follows that path).
    /// </summary>
    public void Draft(DraftTree tree, int maxDepth, float minShare)
    {
        _frontier.Clear();
        _draftNode[0] = -1;
        int least = Math.Max(1, (int)MathF.Ceiling(minShare * _count[0]));
        Push(0);
        while (!tree.IsFull && _frontier.TryDequeue(out int node, out _))
        {
            if (_count[node] < least) break; // the best left is too rare, and so is everything after it
            _draftNode[node] = tree.Add(_draftNode[_parent[node]], _token[node]);
            if (_depth[node] < Math.Min(maxDepth, tree.MaxDepth)) Push(node);
        }
    }

    private void Push(int node)
    {
        for (int c = _firstChild[node]; c >= 0; c = _nextSibling[c])
            _frontier.Enqueue(c, ((long)(int.MaxValue - _count[c]) << 8) | (uint)_depth[c]);
    }
}
