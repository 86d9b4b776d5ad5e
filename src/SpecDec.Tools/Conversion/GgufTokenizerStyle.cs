using SpecDec.Tokenization;

namespace SpecDec.Tools.Conversion;

/// <summary>
/// Which llama.cpp tokenizer a tokenizer.json corresponds to: `tokenizer.ggml.model` "gpt2" (byte-level
/// BPE, with the split regex named by `tokenizer.ggml.pre`) or "llama" (SentencePiece-style BPE with byte
/// fallback and ▁ for spaces, whose `add_space_prefix` says whether a ▁ is prepended).
/// </summary>
internal sealed record GgufTokenizerStyle(string Model, string? Pre, bool AddSpacePrefix)
{
    public static GgufTokenizerStyle Of(TokenizerJsonFile t)
    {
        IReadOnlyList<TokenizerStep> pre = Flatten(t.PreTokenizer), norm = Flatten(t.Normalizer);
        if (pre.Any(s => s.Type == "ByteLevel"))
        {
            if (norm.Any(s => s.Type != "NFC"))
                throw Unsupported(t, $"a byte-level tokenizer with normalizer {string.Join(" + ", norm.Select(s => s.Type))}");
            return new GgufTokenizerStyle("gpt2", PreName(t, pre), AddSpacePrefix: false);
        }

        bool metaspace = pre.Any(s => s.Type == "Metaspace") || norm.Any(s => s.Type == "Replace" && s.Pattern == " " && s.Content == "▁");
        if (t.ByteFallback && metaspace)
        {
            bool prefix = norm.Any(s => s.Type == "Prepend" && s.Content == "▁")
                || pre.Any(s => s.Type == "Metaspace" && s.PrependScheme is "always" or "first");
            return new GgufTokenizerStyle("llama", Pre: null, prefix);
        }
        throw Unsupported(t, "a tokenizer that is neither byte-level BPE nor SentencePiece-style BPE with byte fallback");
    }

    /// <summary>The pre-tokenizer name llama.cpp knows for the split regex in use.</summary>
    private static string PreName(TokenizerJsonFile t, IReadOnlyList<TokenizerStep> pre)
    {
        TokenizerStep[] splits = pre.Where(s => s.Type == "Split").ToArray();
        if (splits.Length == 0)
        {
            return pre.Any(s => s.Type == "ByteLevel" && s.UseRegex)
                ? "gpt-2"
                : throw Unsupported(t, "a byte-level tokenizer without a split regex");
        }
        if (splits.Length == 1 && splits[0].PatternIsRegex)
        {
            if (splits[0].Pattern == TextSplitter.Llama3Pattern) return "llama-bpe";
            if (splits[0].Pattern == TextSplitter.Qwen2Pattern) return "qwen2";
        }
        throw Unsupported(t, $"the split regex {splits[0].Pattern}, which llama.cpp knows by no name (Llama-3, Qwen2 and GPT-2 regexes are)");
    }

    private static IReadOnlyList<TokenizerStep> Flatten(TokenizerStep? step) => step switch
    {
        null => [],
        { Type: "Sequence" } => step.Steps.SelectMany(Flatten).ToList(),
        _ => [step],
    };

    private static ModelFormatException Unsupported(TokenizerJsonFile t, string what) =>
        new(t.FilePath, $"{what} cannot be written as GGUF tokenizer metadata");
}
