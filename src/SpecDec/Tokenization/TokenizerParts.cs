namespace SpecDec.Tokenization;

/// <summary>Everything a <see cref="BpeTokenizer"/> is assembled from; filled by the tokenizer.json and GGUF loaders.</summary>
internal sealed record TokenizerParts
{
    public required string Kind { get; init; }

    /// <summary>The file the tokenizer came from, for messages.</summary>
    public required string Source { get; init; }

    /// <summary>[vocab] id → text as stored ("" where the files leave an id out).</summary>
    public required string[] Tokens { get; init; }
    public required TokenType[] Types { get; init; }
    public required IWordEncoder Model { get; init; }
    public required TextNormalizer Normalizer { get; init; }
    public required PreTokenizer PreTokenizer { get; init; }
    public required IReadOnlyList<TokenizerAddedToken> AddedTokens { get; init; }

    /// <summary>Ids Encode(addSpecial) puts before / after the text (the post-processor's template).</summary>
    public int[] PrefixIds { get; init; } = [];
    public int[] SuffixIds { get; init; } = [];

    public int? BosId { get; init; }
    public int? EosId { get; init; }
    public required IReadOnlySet<int> StopIds { get; init; }
    public string? ChatTemplate { get; init; }

    /// <summary>Decoded text: byte-level tokens map through GPT-2's alphabet; else ▁ is a space and "&lt;0xNN&gt;" a byte.</summary>
    public required bool ByteLevelDecode { get; init; }
    public DecodeStrip Strip { get; init; }
}
