using System.Text;
using SpecDec.Tokenization;

namespace SpecDec.Generation;

/// <summary>
/// Token ids → text as they are committed, never splitting a UTF-8 sequence across pushes (a token may end
/// in the middle of a character; its bytes wait for the rest).
/// </summary>
internal sealed class TokenTextStream
{
    private readonly ITokenizer _tokenizer;
    private readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    private char[] _chars = new char[64];

    public TokenTextStream(ITokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>The characters completed by token <paramref name="id"/> (valid until the next call).</summary>
    public ReadOnlySpan<char> Push(int id)
    {
        // Ids past the tokenizer's vocabulary (padding rows of the output matrix, as in Qwen2) have no text.
        ReadOnlySpan<byte> bytes = (uint)id < (uint)_tokenizer.VocabSize ? _tokenizer.TokenBytes(id) : default;
        // At most one char per byte, plus up to 3 bytes carried over from earlier tokens.
        if (_chars.Length < bytes.Length + 4) _chars = new char[bytes.Length + 4];
        int n = _utf8.GetChars(bytes, _chars, flush: false);
        return _chars.AsSpan(0, n);
    }

    /// <summary>Bytes left over at the end of generation (an incomplete character becomes U+FFFD).</summary>
    public ReadOnlySpan<char> Flush()
    {
        int n = _utf8.GetChars(ReadOnlySpan<byte>.Empty, _chars, flush: true);
        return _chars.AsSpan(0, n);
    }
}
