using System.Numerics;

namespace SpecDec.Sampling;

/// <summary>
/// Partial selection of token ids by logit in O(n) instead of a full sort per token: a one-pass heap for
/// top-k, quickselect for the nucleus. Order: higher logit first, ties to the lower id — a strict total
/// order, so the kept set is unique.
/// </summary>
internal static class CandidateSelection
{
    /// <summary>
    /// Writes the ids of the <paramref name="top"/>.Length best logits into <paramref name="top"/> (in no
    /// particular order). One pass with a heap of the best so far whose root is the worst of them; since ids
    /// arrive in ascending order a newcomer only wins with a strictly larger logit (ties keep the lower id),
    /// so whole vectors at or below the root's logit are skipped with one SIMD compare.
    /// </summary>
    public static void SelectTop(ReadOnlySpan<float> logits, Span<int> top)
    {
        int k = top.Length;
        for (int i = 0; i < k; i++) top[i] = i;
        for (int i = k / 2 - 1; i >= 0; i--) SiftDown(top, i, logits);

        int width = Vector<float>.Count;
        int at = k;
        while (at < logits.Length)
        {
            float threshold = logits[top[0]];
            if (at + width <= logits.Length && !Vector.GreaterThanAny(new Vector<float>(logits[at..]), new Vector<float>(threshold)))
            {
                at += width;
                continue;
            }
            int end = Math.Min(at + width, logits.Length);
            for (; at < end; at++)
            {
                if (logits[at] > logits[top[0]])
                {
                    top[0] = at;
                    SiftDown(top, 0, logits);
                }
            }
        }
    }

    /// <summary>The ids of the <paramref name="top"/>.Length best logits, best first (ties: lower id first).</summary>
    public static void SelectTopSorted(ReadOnlySpan<float> logits, Span<int> top)
    {
        SelectTop(logits, top);
        for (int i = 1; i < top.Length; i++)
            for (int j = i; j > 0 && Better(top[j], top[j - 1], logits); j--) Swap(top, j, j - 1);
    }

    /// <summary>Restores the heap below <paramref name="i"/>: every parent ranks below its children.</summary>
    private static void SiftDown(Span<int> heap, int i, ReadOnlySpan<float> logits)
    {
        while (true)
        {
            int worst = i, left = 2 * i + 1, right = left + 1;
            if (left < heap.Length && Better(heap[worst], heap[left], logits)) worst = left;
            if (right < heap.Length && Better(heap[worst], heap[right], logits)) worst = right;
            if (worst == i) return;
            Swap(heap, i, worst);
            i = worst;
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
