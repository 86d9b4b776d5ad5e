using System.Globalization;
using System.Text;

namespace SpecDec.Tokenization;

/// <summary>
/// The tokenizer every checkpoint gets: added tokens split out first, then each text piece normalized,
/// pre-tokenized into words and encoded word by word by the BPE model (merge ranks or SentencePiece scores),
/// then the post-processor's BOS/EOS. Immutable and thread-safe.
/// </summary>
internal sealed class BpeTokenizer : ITokenizer
{
    private readonly TokenizerParts _p;
    private readonly AddedTokenMatcher _added;
    private readonly byte[] _bytes;         // every token's decoded bytes, back to back
    private readonly int[] _byteOffsets;    // [vocab + 1] token id → start in _bytes
    private readonly bool _prefixHasBos;

    public BpeTokenizer(TokenizerParts parts)
    {
        _p = parts;
        _added = new AddedTokenMatcher(parts.AddedTokens);
        _prefixHasBos = parts.BosId is int bos && parts.PrefixIds.Contains(bos);
        _byteOffsets = new int[parts.Tokens.Length + 1];
        var all = new List<byte>(parts.Tokens.Length * 6);
        for (int id = 0; id < parts.Tokens.Length; id++)
        {
            all.AddRange(DecodedBytes(id));
            _byteOffsets[id + 1] = all.Count;
        }
        _bytes = [.. all];
    }

    public string Kind => _p.Kind;
    public int VocabSize => _p.Tokens.Length;
    public int? BosId => _p.BosId;
    public int? EosId => _p.EosId;
    public IReadOnlySet<int> StopIds => _p.StopIds;
    public bool AddBos => _prefixHasBos;
    public string? ChatTemplate => _p.ChatTemplate;
    internal DecodeStrip Strip => _p.Strip;

    public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var scratch = EncodeScratch.Rent();
        var output = scratch.Output;
        if (addSpecial) output.AddRange(_p.PrefixIds);

        _added.Split(text, parseSpecial, scratch.Parts);
        foreach (var part in scratch.Parts)
        {
            if (part.TokenId >= 0) { output.Add(part.TokenId); continue; }
            var normalized = _p.Normalizer.Apply(text.AsSpan(part.Start, part.Length));
            if (normalized.IsEmpty) continue;
            scratch.Words.Clear();
            var wordText = _p.PreTokenizer.Split(normalized, atTextStart: part.Start == 0, scratch.Words, scratch.Split);
            foreach (var (start, length) in scratch.Words) _p.Model.Encode(wordText.Slice(start, length), output);
        }

        if (addSpecial) output.AddRange(_p.SuffixIds);
        int[] ids = [.. output];
        scratch.Return();
        return ids;
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        int? byteRunStart = null; // SentencePiece byte-fallback tokens decode run by run
        bool first = true;
        foreach (int id in ids)
        {
            if (!IsKnown(id) || (skipSpecial && IsSpecial(id))) continue;
            bool isByte = !_p.ByteLevelDecode && _p.Types[id] == TokenType.Byte;
            if (isByte) byteRunStart ??= bytes.Count;
            else if (byteRunStart is int runStart) { ReplaceIfInvalid(bytes, runStart); byteRunStart = null; }
            bytes.AddRange(first && _p.Strip == DecodeStrip.MetaspaceFirstToken ? FirstTokenBytes(id) : DecodeBytes(id));
            first = false;
        }
        if (byteRunStart is int lastRun) ReplaceIfInvalid(bytes, lastRun);

        string text = Encoding.UTF8.GetString([.. bytes]);
        return _p.Strip == DecodeStrip.LeadingSpace && text.StartsWith(' ') ? text[1..] : text;
    }

    public string TokenText(int id) => IsKnown(id) ? _p.Tokens[id] : throw new ArgumentOutOfRangeException(nameof(id), id, $"not a token id of this {VocabSize}-token vocabulary");

    public ReadOnlySpan<byte> TokenBytes(int id) =>
        !IsKnown(id) ? throw new ArgumentOutOfRangeException(nameof(id), id, $"not a token id of this {VocabSize}-token vocabulary")
        : _p.Types[id] == TokenType.Control ? default : DecodeBytes(id);

    /// <summary>Control tokens and the unk token: what Decode(skipSpecial) leaves out.</summary>
    public bool IsSpecial(int id) => IsKnown(id) && _p.Types[id] is TokenType.Control or TokenType.Unknown;

    /// <summary>Whether the id is a SentencePiece byte-fallback token (its run decodes as one UTF-8 string).</summary>
    internal bool IsByteFallback(int id) => IsKnown(id) && !_p.ByteLevelDecode && _p.Types[id] == TokenType.Byte;

    internal bool IsKnown(int id) => (uint)id < (uint)_p.Tokens.Length;

    /// <summary>The bytes the token adds to decoded text, control tokens' own text included.</summary>
    internal ReadOnlySpan<byte> DecodeBytes(int id) => _bytes.AsSpan(_byteOffsets[id], _byteOffsets[id + 1] - _byteOffsets[id]);

    /// <summary>Metaspace decoder's first token: its ▁ are dropped, not turned into spaces.</summary>
    internal byte[] FirstTokenBytes(int id) =>
        _p.Types[id] == TokenType.Byte ? DecodeBytes(id).ToArray() : Encoding.UTF8.GetBytes(_p.Tokens[id].Replace("▁", ""));

    private byte[] DecodedBytes(int id)
    {
        string text = _p.Tokens[id];
        if (_p.ByteLevelDecode) return ByteLevelAlphabet.TokenToBytes(text);
        if (_p.Types[id] == TokenType.Byte && ParseByteToken(text) is byte b) return [b];
        return Encoding.UTF8.GetBytes(text.Replace('▁', ' '));
    }

    /// <summary>"&lt;0xNN&gt;" → NN.</summary>
    internal static byte? ParseByteToken(string text) =>
        text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>'
        && byte.TryParse(text.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b) ? b : null;

    /// <summary>Hugging Face's ByteFallback decoder: a run that is not valid UTF-8 becomes one U+FFFD per byte.</summary>
    private static void ReplaceIfInvalid(List<byte> bytes, int runStart)
    {
        var run = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)[runStart..];
        if (System.Text.Unicode.Utf8.IsValid(run)) return;
        int n = run.Length;
        bytes.RemoveRange(runStart, n);
        for (int i = 0; i < n; i++) bytes.AddRange("\uFFFD"u8);
    }
}
