using System.Globalization;
using System.Text;
using SpecDec.Formats;
using SpecDec.Tokenization;

namespace SpecDec.Model.Heads;

/// <summary>
/// Which target a draft head was trained for: its name (for messages), vocabulary size and a fingerprint of
/// its token texts (<see cref="HashOf"/>). A head only makes sense on the target whose hidden states and
/// output head it was trained against; the vocabulary fingerprint catches a head for another model family
/// with one clear error (the name alone differs between a GGUF and its Hugging Face folder).
/// </summary>
/// <param name="VocabSize">The logits' width it was trained with, or null when the file does not say (published Medusa configs).</param>
/// <param name="TokenHash">"fnv1a64:" + 16 hex digits over the token texts, or null when the file does not say.</param>
public sealed record BaseModelIdentity(string? Name, int? VocabSize, string? TokenHash)
{
    /// <summary>FNV-1a (64-bit) over every token's UTF-8 text, each followed by a 0 byte, in id order.</summary>
    public static string HashOf(ITokenizer tokenizer)
    {
        const ulong Offset = 14695981039346656037, Prime = 1099511628211;
        ulong h = Offset;
        Span<byte> buffer = stackalloc byte[256];
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            string text = tokenizer.TokenText(id);
            byte[]? rented = null;
            int length = Encoding.UTF8.GetByteCount(text);
            Span<byte> bytes = length <= buffer.Length ? buffer[..length] : (rented = new byte[length]);
            Encoding.UTF8.GetBytes(text, bytes);
            foreach (byte b in bytes) h = (h ^ b) * Prime;
            h *= Prime; // the 0 separator: (h ^ 0) * Prime
        }
        return "fnv1a64:" + h.ToString("x16", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Throws a <see cref="ModelFormatException"/> naming <paramref name="headPath"/> when the head's hidden size,
    /// vocabulary or token fingerprint differ from <paramref name="target"/>'s.
    /// </summary>
    public void Check(ILanguageModel target, int headHidden, string headPath)
    {
        string trained = Name is null ? "another base model" : $"base model '{Name}'";
        if (headHidden != target.Config.HiddenSize)
            throw new ModelFormatException(headPath, $"the head's hidden size is {headHidden} but the target's is {target.Config.HiddenSize}: it was trained for {trained}");
        if (VocabSize is int vocab && vocab != target.Config.VocabSize)
            throw new ModelFormatException(headPath, $"the head scores {vocab} tokens but the target's vocabulary has {target.Config.VocabSize}: it was trained for {trained}");
        if (TokenHash is not null && TokenHash != HashOf(target.Tokenizer))
            throw new ModelFormatException(headPath, $"the head was trained for {trained}, whose vocabulary ({TokenHash}) is not the target's ({HashOf(target.Tokenizer)})");
    }
}
