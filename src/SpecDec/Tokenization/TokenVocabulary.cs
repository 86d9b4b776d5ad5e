namespace SpecDec.Tokenization;

/// <summary>Token text → id, looked up by span so encoding needs no strings.</summary>
internal sealed class TokenVocabulary
{
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    /// <param name="tokens">id → text; null entries are skipped; a repeated text keeps its first id.</param>
    public TokenVocabulary(IReadOnlyList<string?> tokens)
    {
        _ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (int id = 0; id < tokens.Count; id++)
            if (tokens[id] is { } t) _ids.TryAdd(t, id);
        _bySpan = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool TryGetId(ReadOnlySpan<char> text, out int id) => _bySpan.TryGetValue(text, out id);

    public int IdOrMinusOne(ReadOnlySpan<char> text) => _bySpan.TryGetValue(text, out int id) ? id : -1;

    /// <summary>[256] the id of "&lt;0xNN&gt;" for each byte, -1 where the vocabulary lacks it.</summary>
    public int[] ByteTokenIds()
    {
        var ids = new int[256];
        Span<char> name = stackalloc char[6];
        for (int b = 0; b < 256; b++)
        {
            $"<0x{b:X2}>".AsSpan().CopyTo(name);
            ids[b] = IdOrMinusOne(name);
        }
        return ids;
    }
}
