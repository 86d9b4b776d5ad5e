using System.Runtime.InteropServices;
using SpecDec.Sampling;

namespace SpecDec.Retrieval;

/// <summary>
/// A growing token sequence (documents separated by −1) with a hash index of its n-grams of the sizes in
/// <see cref="Sizes"/>, for the in-memory retrieval stores: the current request's context, and what the
/// process learned from earlier answers. <see cref="Match"/> finds the longest suffix of a context (16
/// tokens down to 2) that occurred with a continuation, and where those continuations start. Indexing is
/// O(sizes) per token and a lookup O(sizes + hits); no n-gram spans a separator.
/// </summary>
public sealed class TokenHistory
{
    /// <summary>Match lengths tried, longest first.</summary>
    public static ReadOnlySpan<int> Sizes => [16, 12, 8, 6, 4, 3, 2];

    private int[] _tokens = [];                      // [capacity]
    private int[][] _previous = [];                  // [size][end] the previous end of an n-gram with the same hash, or −1
    private readonly Dictionary<ulong, int> _last = []; // (size, n-gram) hash → end of its latest occurrence
    private int _documentStart;                      // n-grams start at or after this index

    public int Count { get; private set; }

    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Count);

    /// <summary>Empties it, keeping room for <paramref name="capacity"/> tokens (no allocation until they are used).</summary>
    public void Clear(int capacity = 0)
    {
        Count = 0;
        _documentStart = 0;
        _last.Clear();
        Reserve(capacity);
        _last.EnsureCapacity(Math.Min(capacity, 1 << 16) * Sizes.Length);
    }

    /// <summary>Appends <paramref name="tokens"/> (−1 ends a document) and indexes the n-grams they complete.</summary>
    public void Append(ReadOnlySpan<int> tokens)
    {
        Reserve(Count + tokens.Length);
        foreach (int token in tokens)
        {
            int end = Count++;
            _tokens[end] = token;
            if (token < 0)
            {
                _documentStart = Count;
                continue;
            }
            for (int s = 0; s < Sizes.Length; s++)
            {
                int size = Sizes[s];
                if (end - size + 1 < _documentStart) continue;
                ref int latest = ref CollectionsMarshal.GetValueRefOrAddDefault(_last, Key(_tokens.AsSpan(end - size + 1, size), size), out bool seen);
                _previous[s][end] = seen ? latest : -1;
                latest = end;
            }
        }
    }

    /// <summary>
    /// The longest suffix of <paramref name="context"/> (at most 16 tokens, at least 2) that occurred here
    /// followed by a token: writes where the continuations start (most recent first, at most
    /// <paramref name="starts"/>.Length) and returns the match length, or 0 with no match. An occurrence that
    /// ends at the last token here (the context itself, when this is the context) has no continuation.
    /// </summary>
    public int Match(ReadOnlySpan<int> context, Span<int> starts, out int found)
    {
        found = 0;
        for (int s = 0; s < Sizes.Length; s++)
        {
            int size = Sizes[s];
            if (size > context.Length) continue;
            var tail = context[^size..];
            if (!_last.TryGetValue(Key(tail, size), out int end)) continue;
            for (; end >= 0 && found < starts.Length; end = _previous[s][end])
            {
                if (end + 1 >= Count || _tokens[end + 1] < 0) continue;
                if (!_tokens.AsSpan(end - size + 1, size).SequenceEqual(tail)) continue; // hash collision
                starts[found++] = end + 1;
            }
            if (found > 0) return size;
        }
        return 0;
    }

    private static ulong Key(ReadOnlySpan<int> gram, int size)
    {
        ulong h = Fnv1a.Hash(gram) ^ ((ulong)size << 56);
        return Xoshiro256StarStar.SplitMix64(ref h);
    }

    private void Reserve(int length)
    {
        if (_tokens.Length >= length) return;
        int grown = Math.Max(length, 2 * _tokens.Length);
        Array.Resize(ref _tokens, grown);
        if (_previous.Length == 0) _previous = new int[Sizes.Length][];
        for (int s = 0; s < _previous.Length; s++) Array.Resize(ref _previous[s], grown);
    }
}
