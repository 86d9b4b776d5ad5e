namespace SpecDec.Sampling;

/// <summary>
/// 64-bit FNV-1a (Fowler–Noll–Vo): a fast hash of short keys whose value is fixed by the algorithm, so the
/// same key hashes alike on every runtime (n-grams of token ids, benchmark item ids).
/// </summary>
public static class Fnv1a
{
    public const ulong Offset = 0xCBF29CE484222325UL;
    public const ulong Prime = 0x100000001B3UL;

    /// <summary>Folds one more value into the hash <paramref name="h"/>.</summary>
    public static ulong Add(ulong h, uint value) => (h ^ value) * Prime;

    public static ulong Hash(ReadOnlySpan<int> values)
    {
        ulong h = Offset;
        foreach (int v in values) h = Add(h, (uint)v);
        return h;
    }

    public static ulong Hash(string text)
    {
        ulong h = Offset;
        foreach (char c in text) h = Add(h, c);
        return h;
    }
}
