namespace SpecDec.Retrieval;

/// <summary>
/// Builds the suffix array of a token sequence by prefix doubling (Manber–Myers): ranks by the first k tokens,
/// then by pairs (rank at i, rank at i + k) for k = 1, 2, 4, …, until every rank is distinct or k reaches
/// <see cref="Depth"/>; a suffix ends at its document's separator, and suffixes equal that far (or to both
/// their ends) stay in position order. Drafting matches at most 16 tokens,
/// so the order of the first 32 is all a lookup needs. O(n log n) per doubling.
/// </summary>
public static class SuffixArray
{
    /// <summary>Tokens of each suffix the order is exact for.</summary>
    public const int Depth = 32;

    /// <summary>
    /// The positions of the tokens of <paramref name="tokens"/> (−1 separates documents and is not a suffix
    /// start), sorted by the text that starts there; the separator sorts above every id.
    /// </summary>
    public static uint[] Build(ReadOnlySpan<int> tokens)
    {
        int n = tokens.Length;
        var rank = new int[n];
        int starts = 0;
        int separator = 0;
        foreach (int t in tokens) separator = Math.Max(separator, t + 1);
        for (int i = 0; i < n; i++)
        {
            rank[i] = tokens[i] < 0 ? separator : tokens[i];
            if (tokens[i] >= 0) starts++;
        }
        // Tokens from each position to its document's separator (or the end): a suffix's rank over its first k
        // tokens is final once that is below k, so it is not refined with text past the separator.
        var toEnd = new int[n];
        for (int i = n - 1, end = n; i >= 0; i--)
        {
            if (tokens[i] < 0) end = i;
            toEnd[i] = end - i;
        }
        var sa = new uint[starts];
        for (int i = 0, j = 0; i < n; i++) if (tokens[i] >= 0) sa[j++] = (uint)i;
        var keys = new long[starts];
        var next = new int[n];
        for (int k = 1; ; k *= 2)
        {
            for (int j = 0; j < starts; j++)
            {
                int i = (int)sa[j];
                keys[j] = ((long)rank[i] << 32) | (uint)(toEnd[i] >= k && i + k < n ? rank[i + k] + 1 : 0);
            }
            Array.Sort(keys, sa);
            // New ranks: equal keys share one; separators keep theirs above every token's.
            int distinct = 0;
            for (int j = 0; j < starts; j++)
            {
                if (j > 0 && keys[j] != keys[j - 1]) distinct = j;
                next[sa[j]] = distinct;
            }
            for (int j = 0; j < starts; j++) rank[sa[j]] = next[sa[j]];
            for (int i = 0; i < n; i++) if (tokens[i] < 0) rank[i] = starts;
            bool unique = starts == 0 || AllDistinct(keys);
            if (unique || 2 * k >= Depth)
            {
                if (!unique) OrderTiesByPosition(keys, sa);
                return sa;
            }
        }
    }

    private static bool AllDistinct(long[] sortedKeys)
    {
        for (int j = 1; j < sortedKeys.Length; j++) if (sortedKeys[j] == sortedKeys[j - 1]) return false;
        return true;
    }

    /// <summary>Runs of equal keys (suffixes equal for <see cref="Depth"/> tokens) sorted by position: a deterministic file.</summary>
    private static void OrderTiesByPosition(long[] keys, uint[] sa)
    {
        for (int start = 0; start < keys.Length;)
        {
            int end = start + 1;
            while (end < keys.Length && keys[end] == keys[start]) end++;
            if (end - start > 1) Array.Sort(sa, start, end - start);
            start = end;
        }
    }
}
