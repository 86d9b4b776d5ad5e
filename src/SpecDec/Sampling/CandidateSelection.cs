namespace SpecDec.Sampling;

/// <summary>
/// Partial selection of token ids by logit, in expected O(n) (quickselect) instead of a full sort per token.
/// Order: higher logit first, ties to the lower id — a strict total order, so the kept set is unique.
/// </summary>
internal static class CandidateSelection
{
    /// <summary>Rearranges <paramref name="ids"/> so its first k entries are the k best (in no particular order).</summary>
    public static void SelectTop(Span<int> ids, ReadOnlySpan<float> logits, int k)
    {
        int lo = 0, hi = ids.Length;
        if (k <= 0 || k >= hi) return;
        while (hi - lo > 1)
        {
            int m = Partition(ids, logits, lo, hi);
            if (m == k - 1) return;
            if (m > k - 1) hi = m;
            else lo = m + 1;
        }
    }

    /// <summary>
    /// The nucleus: rearranges <paramref name="ids"/> so its first m entries are the m best, m being the smallest
    /// count whose summed <paramref name="mass"/> reaches <paramref name="needed"/>; returns m. A token is kept
    /// exactly when the mass of the tokens ranked before it is below <paramref name="needed"/> (Hugging Face's
    /// TopPLogitsWarper rule). Each step partitions around a pivot and descends into the side holding the cut.
    /// </summary>
    public static int SelectNucleus(Span<int> ids, ReadOnlySpan<float> logits, ReadOnlySpan<float> mass, double needed)
    {
        int lo = 0, hi = ids.Length;
        while (lo < hi)
        {
            int m = Partition(ids, logits, lo, hi);
            double better = 0;
            for (int i = lo; i < m; i++) better += mass[ids[i]];
            if (better >= needed)
            {
                hi = m;
            }
            else if (better + mass[ids[m]] >= needed)
            {
                return m + 1;
            }
            else
            {
                needed -= better + mass[ids[m]];
                lo = m + 1;
            }
        }
        return ids.Length; // rounding left the target unreached: keep everything
    }

    /// <summary>
    /// Lomuto partition of ids[lo..hi) around a median-of-three pivot: afterwards ids[lo..m) rank above the pivot,
    /// ids[m] is the pivot, ids(m..hi) rank below; returns m.
    /// </summary>
    private static int Partition(Span<int> ids, ReadOnlySpan<float> logits, int lo, int hi)
    {
        int last = hi - 1;
        int mid = lo + (hi - lo) / 2;
        // Median of three moved to the end.
        if (Better(ids[mid], ids[lo], logits)) Swap(ids, mid, lo);
        if (Better(ids[last], ids[lo], logits)) Swap(ids, last, lo);
        if (Better(ids[mid], ids[last], logits)) Swap(ids, mid, last);
        int pivot = ids[last];
        int store = lo;
        for (int i = lo; i < last; i++)
        {
            if (Better(ids[i], pivot, logits)) Swap(ids, i, store++);
        }
        Swap(ids, store, last);
        return store;
    }

    public static bool Better(int a, int b, ReadOnlySpan<float> logits) =>
        logits[a] > logits[b] || (logits[a] == logits[b] && a < b);

    private static void Swap(Span<int> ids, int i, int j) => (ids[i], ids[j]) = (ids[j], ids[i]);
}
