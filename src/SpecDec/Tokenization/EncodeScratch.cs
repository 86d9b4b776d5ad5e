namespace SpecDec.Tokenization;

/// <summary>
/// The working lists of one Encode call, kept per thread so that encoding allocates only the returned ids
/// (and the word cache's entries). Lists that grew past <see cref="KeepCapacity"/> are dropped after use.
/// </summary>
internal sealed class EncodeScratch
{
    private const int KeepCapacity = 1 << 16;

    [ThreadStatic] private static EncodeScratch? t_cached;

    public readonly List<int> Output = [];
    public readonly List<AddedTokenMatcher.Part> Parts = [];
    public readonly List<(int Start, int Length)> Words = [];
    public readonly List<(int Start, int Length)> Split = [];

    /// <summary>This thread's scratch, emptied; give it back with <see cref="Return"/> (Encode never nests).</summary>
    public static EncodeScratch Rent()
    {
        var s = t_cached ?? new EncodeScratch();
        t_cached = null;
        return s;
    }

    public void Return()
    {
        if (Output.Capacity > KeepCapacity || Parts.Capacity > KeepCapacity || Words.Capacity > KeepCapacity || Split.Capacity > KeepCapacity) return;
        Output.Clear(); Parts.Clear(); Words.Clear(); Split.Clear();
        t_cached = this;
    }
}
