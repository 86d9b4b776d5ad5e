namespace SpecDec.Tokenization;

/// <summary>What a vocabulary entry is; the values are GGUF's tokenizer.ggml.token_type codes.</summary>
public enum TokenType
{
    Normal = 1,
    /// <summary>The unk token.</summary>
    Unknown = 2,
    /// <summary>A special token (BOS, EOS, chat markers): matched only when parsing special, skippable on decode.</summary>
    Control = 3,
    /// <summary>An added token that is ordinary text: always matched verbatim, decoded as its text.</summary>
    UserDefined = 4,
    Unused = 5,
    /// <summary>A SentencePiece byte-fallback token "&lt;0xNN&gt;".</summary>
    Byte = 6,
}
