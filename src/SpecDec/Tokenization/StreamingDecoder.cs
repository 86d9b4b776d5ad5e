using System.Text;

namespace SpecDec.Tokenization;

/// <summary>
/// Token ids → text as they are generated, one instance per generation. Push returns only completed
/// characters: bytes of a character split across tokens (an emoji over byte-fallback tokens or byte-level
/// pieces) wait for the rest, so no chunk is ever broken UTF-8. The concatenated chunks plus Flush equal
/// <see cref="ITokenizer.Decode"/> of the same ids whenever those decode to valid UTF-8 (for invalid bytes, a
/// SentencePiece byte run becomes one U+FFFD per invalid sequence here, one per byte in Decode).
/// </summary>
public sealed class StreamingDecoder
{
    private readonly ITokenizer _tokenizer;
    private readonly BpeTokenizer? _bpe;
    private readonly bool _skipSpecial;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] _chars = new char[64];
    private bool _stripSpacePending;   // the text's first char, if a space, is the tokenizer's own and goes
    private bool _metaspaceFirstToken; // the next decoded token is the text's first (its ▁ are dropped)

    /// <param name="skipSpecial">Leave out control tokens (BOS, EOS, chat markers), as Decode(skipSpecial).</param>
    /// <param name="atTextStart">
    /// The ids begin the text, so a SentencePiece tokenizer's leading space is stripped as Decode strips it;
    /// false for a continuation streamed after a prompt, whose first space is real.
    /// </param>
    public StreamingDecoder(ITokenizer tokenizer, bool skipSpecial = false, bool atTextStart = true)
    {
        _tokenizer = tokenizer;
        _bpe = tokenizer as BpeTokenizer;
        _skipSpecial = skipSpecial;
        _stripSpacePending = atTextStart && _bpe?.Strip == DecodeStrip.LeadingSpace;
        _metaspaceFirstToken = atTextStart && _bpe?.Strip == DecodeStrip.MetaspaceFirstToken;
    }

    /// <summary>The characters completed by token <paramref name="id"/> (valid until the next call).</summary>
    public ReadOnlySpan<char> Push(int id)
    {
        // Ids past the vocabulary (padded output rows, as in Qwen2) have no text; Decode skips them too.
        if ((uint)id >= (uint)_tokenizer.VocabSize || (_skipSpecial && _tokenizer.IsSpecial(id))) return default;
        ReadOnlySpan<byte> bytes;
        if (_metaspaceFirstToken) { bytes = _bpe!.FirstTokenBytes(id); _metaspaceFirstToken = false; }
        else if (_bpe != null) bytes = _bpe.DecodeBytes(id);
        else bytes = _tokenizer.IsSpecial(id) ? Encoding.UTF8.GetBytes(_tokenizer.TokenText(id)) : _tokenizer.TokenBytes(id);
        return Emit(bytes, flush: false);
    }

    /// <summary>What is left at the end of generation (an incomplete character becomes U+FFFD).</summary>
    public ReadOnlySpan<char> Flush() => Emit(default, flush: true);

    private ReadOnlySpan<char> Emit(ReadOnlySpan<byte> bytes, bool flush)
    {
        // One char per byte at most, plus up to 3 bytes carried over from earlier tokens.
        if (_chars.Length < bytes.Length + 4) _chars = new char[bytes.Length + 4];
        int n = _utf8.GetChars(bytes, _chars, flush);
        var text = _chars.AsSpan(0, n);
        if (_stripSpacePending && n > 0)
        {
            _stripSpacePending = false;
            if (text[0] == ' ') text = text[1..];
        }
        return text;
    }
}
