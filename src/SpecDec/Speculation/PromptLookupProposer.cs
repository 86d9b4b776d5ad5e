using System.Runtime.InteropServices;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// Prompt lookup decoding (Saxena 2023): when the last n tokens occurred earlier in the prompt or the
/// generated text, propose what followed their most recent earlier occurrence. Longer n-grams are tried first
/// (n from max down to min). Drafts are point masses (no q).
/// <para>
/// Cost: for each n an index maps the hash of every n-gram that has a continuation to the position where its
/// most recent occurrence ends. Committed tokens are indexed once, as they arrive, so a round costs
/// O(new tokens × sizes + sizes × n), never a scan of the context.
/// </para>
/// Example (n = 2): context "a b c d a b", last bigram "a b" last occurred at 0–1 → propose "c d a b".
/// </summary>
public sealed class PromptLookupProposer : IDraftProposer
{
    private readonly int _ngramMin;
    private readonly int _ngramMax;
    private readonly Dictionary<ulong, int>[] _lastEnd; // [size − min]: n-gram hash → end index of its latest occurrence
    private int _indexedUpTo;                           // n-grams ending before this index are indexed

    public PromptLookupProposer(int ngramMin, int ngramMax)
    {
        if (ngramMin < 1 || ngramMax < ngramMin)
            throw new ArgumentOutOfRangeException(nameof(ngramMin), $"need 1 ≤ ngram-min ≤ ngram-max (got {ngramMin}, {ngramMax})");
        _ngramMin = ngramMin;
        _ngramMax = ngramMax;
        _lastEnd = new Dictionary<ulong, int>[ngramMax - ngramMin + 1];
        for (int i = 0; i < _lastEnd.Length; i++) _lastEnd[i] = [];
    }

    public void Reset(SamplingOptions sampling, int capacity)
    {
        foreach (var index in _lastEnd)
        {
            index.Clear();
            index.EnsureCapacity(capacity); // no rehashing (allocation) while generating
        }
        _indexedUpTo = 0;
    }

    public void Prefill(ReadOnlySpan<int> prompt) => Index(prompt);

    public DraftProposal Propose(ReadOnlySpan<int> context, Span<int> draft, Span<float> q, Xoshiro256StarStar rng)
    {
        int n = context.Length;
        Index(context);
        for (int size = Math.Min(_ngramMax, n - 1); size >= _ngramMin; size--)
        {
            ReadOnlySpan<int> tail = context[(n - size)..];
            if (!_lastEnd[size - _ngramMin].TryGetValue(Hash(tail), out int end)) continue;
            if (!context.Slice(end - size + 1, size).SequenceEqual(tail)) continue; // hash collision
            int start = end + 1;
            int count = Math.Min(draft.Length, n - start);
            context.Slice(start, count).CopyTo(draft);
            return new DraftProposal(count, HasDistributions: false);
        }
        return DraftProposal.Empty;
    }

    public void Accepted(int accepted) { } // the index grows from the committed context alone

    /// <summary>Indexes the n-grams of <paramref name="context"/> that gained a continuation: those ending at n − 2 and before.</summary>
    private void Index(ReadOnlySpan<int> context)
    {
        for (; _indexedUpTo < context.Length - 1; _indexedUpTo++)
        {
            for (int size = _ngramMin; size <= _ngramMax && size <= _indexedUpTo + 1; size++)
            {
                ulong key = Hash(context.Slice(_indexedUpTo - size + 1, size));
                CollectionsMarshal.GetValueRefOrAddDefault(_lastEnd[size - _ngramMin], key, out _) = _indexedUpTo;
            }
        }
    }

    /// <summary>FNV-1a-style mixing of the ids, finished with SplitMix64's avalanche.</summary>
    private static ulong Hash(ReadOnlySpan<int> gram)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (int t in gram) h = (h ^ (uint)t) * 0x100000001B3UL;
        return Xoshiro256StarStar.SplitMix64(ref h);
    }
}
