namespace SpecDec.Tokenization;

/// <summary>
/// One configured normalizer, pre_tokenizer, decoder or post_processor of tokenizer.json, as plain data.
/// <see cref="Type"/> is the json "type" ("ByteLevel", "Split", "Metaspace", "Sequence", "Prepend",
/// "Replace", "TemplateProcessing", "ByteFallback", "Fuse", "Strip", …); only the fields that type uses are set.
/// </summary>
public sealed record TokenizerStep(string Type)
{
    /// <summary>Sequence: the steps in order.</summary>
    public IReadOnlyList<TokenizerStep> Steps { get; init; } = [];

    /// <summary>Split / Replace: the pattern; a regex when <see cref="PatternIsRegex"/>, else a literal string.</summary>
    public string? Pattern { get; init; }
    public bool PatternIsRegex { get; init; }

    /// <summary>Replace: the replacement; Prepend: the prefix; Metaspace: the replacement char; Strip: the char.</summary>
    public string? Content { get; init; }

    /// <summary>Split: "Isolated", "Removed", "MergedWithPrevious", "MergedWithNext" or "Contiguous".</summary>
    public string? Behavior { get; init; }
    public bool Invert { get; init; }

    /// <summary>ByteLevel: prepend a space to the first word; whether its built-in GPT-2 regex splits.</summary>
    public bool AddPrefixSpace { get; init; }
    public bool UseRegex { get; init; } = true;

    /// <summary>Metaspace: "always", "first" or "never" (older files' add_prefix_space maps to always/never).</summary>
    public string? PrependScheme { get; init; }

    /// <summary>Metaspace pre-tokenizer: split into words at each replacement char.</summary>
    public bool Split { get; init; }

    /// <summary>Strip decoder: how many <see cref="Content"/> chars to remove from the start / end.</summary>
    public int Start { get; init; }
    public int Stop { get; init; }

    /// <summary>
    /// TemplateProcessing "single" template: "$A" for the sequence, otherwise a special token's name, whose
    /// ids are in <see cref="TemplateSpecialIds"/>.
    /// </summary>
    public IReadOnlyList<string> SingleTemplate { get; init; } = [];
    public IReadOnlyDictionary<string, int[]> TemplateSpecialIds { get; init; } = new Dictionary<string, int[]>();
}
