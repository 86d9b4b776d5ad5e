using SpecDec.Sampling;
using SpecDec.Tokenization;

namespace SpecDec.Retrieval;

/// <summary>
/// A 64-bit digest of what a tokenizer's ids mean: its size and every token's bytes, in id order. Two tokenizers
/// with the same fingerprint map ids to the same text, so token ids stored with one can be read with the other.
/// </summary>
public static class TokenizerFingerprint
{
    public static ulong Of(ITokenizer tokenizer)
    {
        ulong h = Fnv1a.Add(Fnv1a.Offset, (uint)tokenizer.VocabSize);
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            var bytes = tokenizer.TokenBytes(id);
            h = Fnv1a.Add(h, (uint)bytes.Length);
            foreach (byte b in bytes) h = Fnv1a.Add(h, b);
        }
        return h;
    }
}
