using System.Runtime.InteropServices;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// Prompt lookup decoding (Saxena 2023): when the last n tokens occurred earlier in the prompt or the
/// generated text, propose what followed them there. Longer n-grams are tried first (n from max down to min).
/// Of the <see cref="Candidates"/> most recent occurrences of the n-gram, the one whose match with the context
/// reaches furthest back wins (ties: the most recent): in a copy with edits the same short n-gram recurs in
/// many places (a name, "self,"), and the occurrence that shares more of what came before is the one being
/// copied. Drafts are point masses (no q).
/// <para>
/// Cost: for each n an index maps the hash of every n-gram that has a continuation to the position where its
/// most recent occurrence ends, and each end links to the previous end with the same hash. Committed tokens
/// are indexed once, as they arrive, so a round costs O(new tokens × sizes + sizes × n + Candidates ×
/// <see cref="MaxExtension"/>), never a scan of the context.
/// </para>
/// Example (n = 2): context "a b c d a b", last bigram "a b" last occurred at 0–1 → propose "c d a b".
/// <para>
/// As a tree (<see cref="SpeculationOptions.Tree"/>), every compared occurrence contributes its continuation,
/// best reach first, merged into a trie: where earlier matches disagree the tree branches, one branch per
/// distinct continuation, until the node budget is spent. Context "x a b c … y a b d … a b": branches "c …"
/// and "d …" below the root.
/// </para>
/// </summary>
public sealed class PromptLookupProposer : IDraftProposer
{
    /// <summary>
    /// Tokens the index is sized for up front; a longer sequence grows it (doubling), so a request for millions
    /// of tokens does not reserve memory for all of them before its first token.
    /// </summary>
    private const int PreallocatedTokens = 1 << 16;

    /// <summary>Most recent occurrences of the matched n-gram compared.</summary>
    public const int Candidates = 8;

    /// <summary>Tokens before the n-gram a match is followed back, at most.</summary>
    public const int MaxExtension = 64;

    private int _ngramMin;
    private int _ngramMax;
    private bool _tree;
    private Dictionary<ulong, int>[] _lastEnd = [];     // [size − min]: n-gram hash → end index of its latest occurrence
    private int[][] _previousEnd = [];                  // [size − min][end]: the end of the previous n-gram with that hash, or −1
    private int _indexedUpTo;                           // n-grams ending before this index are indexed
    private readonly (int End, int Reach)[] _matches = new (int, int)[Candidates]; // compared occurrences of a round

    /// <summary>Takes the request's n-gram sizes (an index per size, rebuilt when they change) and tree setting.</summary>
    public void Reset(in ProposalRequest request)
    {
        var options = request.Speculation;
        int capacity = request.Capacity;
        if (options.NgramMin < 1 || options.NgramMax < options.NgramMin)
            throw new ArgumentOutOfRangeException(nameof(request), $"need 1 ≤ ngram-min ≤ ngram-max (got {options.NgramMin}, {options.NgramMax})");
        _tree = options.Tree;
        if ((_ngramMin, _ngramMax) != (options.NgramMin, options.NgramMax) || _lastEnd.Length == 0)
        {
            _ngramMin = options.NgramMin;
            _ngramMax = options.NgramMax;
            _lastEnd = new Dictionary<ulong, int>[_ngramMax - _ngramMin + 1];
            for (int i = 0; i < _lastEnd.Length; i++) _lastEnd[i] = [];
            _previousEnd = [];
        }
        foreach (var index in _lastEnd)
        {
            index.Clear();
            index.EnsureCapacity(Math.Min(capacity, PreallocatedTokens)); // no rehashing (allocation) while generating
        }
        Reserve(Math.Min(capacity, PreallocatedTokens));
        _indexedUpTo = 0;
    }

    public void Prefill(ReadOnlySpan<int> prompt) => Index(prompt);

    /// <summary>
    /// Tokens the last proposal's match agreed with the context: the n-gram plus its reach further back (0: no
    /// match). A longer agreement predicts a longer accepted copy (auto's choice reads it).
    /// </summary>
    public int MatchLength { get; private set; }

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        int n = context.Length;
        MatchLength = 0;
        Index(context);
        for (int size = Math.Min(_ngramMax, n - 1); size >= _ngramMin; size--)
        {
            ReadOnlySpan<int> tail = context[(n - size)..];
            if (!_lastEnd[size - _ngramMin].TryGetValue(Hash(tail), out int end)) continue;
            int[] previous = _previousEnd[size - _ngramMin];
            int found = 0;
            for (; end >= 0 && found < Candidates; end = previous[end])
            {
                if (!context.Slice(end - size + 1, size).SequenceEqual(tail)) continue; // hash collision
                _matches[found++] = (end, Reach(context, end - size, n - 1 - size));
            }
            if (found == 0) continue;
            // Furthest reach first; equal reach keeps the more recent (found earlier, and the sort is stable).
            var matches = _matches.AsSpan(0, found);
            InsertionSortByReach(matches);
            MatchLength = size + matches[0].Reach;
            foreach (var (matchEnd, _) in _tree ? matches : matches[..1])
            {
                AddBranch(tree, context, matchEnd + 1);
                if (tree.IsFull) break;
            }
            return;
        }
    }

    /// <summary>Adds the continuation from context index <paramref name="start"/> as a root-to-leaf branch, sharing the nodes it agrees with.</summary>
    private static void AddBranch(DraftTree tree, ReadOnlySpan<int> context, int start)
    {
        int count = Math.Min(tree.MaxDepth, context.Length - start);
        int node = -1;
        for (int i = 0; i < count; i++)
        {
            int child = tree.Child(node, context[start + i]);
            if (child < 0)
            {
                if (tree.IsFull) return;
                child = tree.Add(node, context[start + i]);
            }
            node = child;
        }
    }

    /// <summary>At most <see cref="Candidates"/> entries: a stable insertion sort, allocation-free.</summary>
    private static void InsertionSortByReach(Span<(int End, int Reach)> matches)
    {
        for (int i = 1; i < matches.Length; i++)
        {
            var m = matches[i];
            int j = i - 1;
            for (; j >= 0 && matches[j].Reach < m.Reach; j--) matches[j + 1] = matches[j];
            matches[j + 1] = m;
        }
    }

    /// <summary>How many tokens back from <paramref name="a"/> and <paramref name="b"/> (a &lt; b) the context agrees, up to <see cref="MaxExtension"/>.</summary>
    private static int Reach(ReadOnlySpan<int> context, int a, int b)
    {
        int length = 0;
        while (length < MaxExtension && a - length >= 0 && context[a - length] == context[b - length]) length++;
        return length;
    }

    public void Accepted(ReadOnlySpan<int> path) { } // the index grows from the committed context alone

    /// <summary>Indexes the n-grams of <paramref name="context"/> that gained a continuation: those ending at n − 2 and before.</summary>
    private void Index(ReadOnlySpan<int> context)
    {
        Reserve(context.Length);
        for (; _indexedUpTo < context.Length - 1; _indexedUpTo++)
        {
            for (int size = _ngramMin; size <= _ngramMax && size <= _indexedUpTo + 1; size++)
            {
                ulong key = Hash(context.Slice(_indexedUpTo - size + 1, size));
                ref int latest = ref CollectionsMarshal.GetValueRefOrAddDefault(_lastEnd[size - _ngramMin], key, out bool seen);
                _previousEnd[size - _ngramMin][_indexedUpTo] = seen ? latest : -1;
                latest = _indexedUpTo;
            }
        }
    }

    /// <summary>Room to index <paramref name="length"/> tokens; allocates only when there is not (Reset's capacity, or a longer context).</summary>
    private void Reserve(int length)
    {
        if (_previousEnd.Length > 0 && _previousEnd[0].Length >= length) return;
        if (_previousEnd.Length == 0) _previousEnd = new int[_lastEnd.Length][];
        for (int i = 0; i < _previousEnd.Length; i++)
        {
            int[] grown = new int[Math.Max(length, 2 * (_previousEnd[i]?.Length ?? 0))];
            _previousEnd[i]?.CopyTo(grown, 0);
            _previousEnd[i] = grown;
        }
    }

    /// <summary>FNV-1a of the ids, finished with SplitMix64's avalanche.</summary>
    private static ulong Hash(ReadOnlySpan<int> gram)
    {
        ulong h = Fnv1a.Hash(gram);
        return Xoshiro256StarStar.SplitMix64(ref h);
    }
}
