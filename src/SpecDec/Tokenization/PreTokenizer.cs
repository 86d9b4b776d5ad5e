namespace SpecDec.Tokenization;

/// <summary>
/// tokenizer.json's pre_tokenizer: cuts normalized text into the words BPE runs on. Supported: regex Splits
/// (Isolated) followed by ByteLevel (whose own regex is GPT-2's), or Metaspace (spaces → ▁, a ▁ prepended
/// by its scheme, optionally a word per ▁), or none (the whole piece is one word).
/// </summary>
internal sealed class PreTokenizer
{
    private readonly TextSplitter[] _splitters;
    private readonly string? _metaspace;          // the replacement char for spaces, when Metaspace
    private readonly string _prependScheme = "never";
    private readonly bool _metaspaceSplit;
    private readonly bool _addPrefixSpace;

    /// <summary>Words are raw text for byte-level BPE (GPT-2 alphabet), not vocabulary strings.</summary>
    public bool ByteLevel { get; }

    public PreTokenizer(TextSplitter[] splitters, bool byteLevel, bool addPrefixSpace = false)
    {
        _splitters = splitters;
        ByteLevel = byteLevel;
        _addPrefixSpace = addPrefixSpace;
    }

    private PreTokenizer(string replacement, string prependScheme, bool split)
    {
        _splitters = [];
        _metaspace = replacement;
        _prependScheme = prependScheme;
        _metaspaceSplit = split;
    }

    public static PreTokenizer From(TokenizerStep? step, string source)
    {
        if (step is null) return new PreTokenizer([], byteLevel: false);
        if (step.Type == "Metaspace") return new PreTokenizer(step.Content ?? "▁", step.PrependScheme ?? "always", step.Split);

        var steps = step.Type == "Sequence" ? step.Steps : [step];
        var splitters = new List<TextSplitter>();
        for (int i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            switch (s.Type)
            {
                case "Split" when s.Behavior == "Isolated" && !s.Invert:
                    splitters.Add(s.PatternIsRegex ? TextSplitter.ForPattern(s.Pattern!, source)
                                                   : new RegexSplitter(System.Text.RegularExpressions.Regex.Escape(s.Pattern!), source));
                    break;
                case "ByteLevel" when i == steps.Count - 1:
                    if (s.UseRegex) splitters.Add(TextSplitter.ForPattern(TextSplitter.Gpt2Pattern, source));
                    return new PreTokenizer([.. splitters], byteLevel: true, s.AddPrefixSpace);
                default:
                    string what = s.Type == "Split" ? $"Split with behavior {s.Behavior}{(s.Invert ? ", inverted" : "")}" : s.Type;
                    throw new ModelFormatException(source, $"pre_tokenizer {what} is not supported (supported: regex Splits then ByteLevel, or Metaspace)");
            }
        }
        return new PreTokenizer([.. splitters], byteLevel: false);
    }

    /// <summary>Metaspace with the given scheme, as llama.cpp-style SentencePiece vocabularies need.</summary>
    public static PreTokenizer Metaspace(string prependScheme, bool split) => new("▁", prependScheme, split);

    /// <summary>
    /// Appends the words of <paramref name="text"/> as (start, length) into the returned text (which is
    /// <paramref name="text"/> unless Metaspace rewrote it). <paramref name="atTextStart"/>: the piece begins the
    /// input (Metaspace's "first" scheme prepends only there).
    /// </summary>
    public ReadOnlySpan<char> Split(ReadOnlySpan<char> text, bool atTextStart, List<(int Start, int Length)> words,
        List<(int Start, int Length)> scratch)
    {
        if (_metaspace != null) return SplitMetaspace(text, atTextStart, words);
        if (_addPrefixSpace && !text.IsEmpty && text[0] != ' ') text = " " + text.ToString();
        if (_splitters.Length == 0) { words.Add((0, text.Length)); return text; }

        int first = words.Count;
        _splitters[0].Split(text, 0, words);
        for (int k = 1; k < _splitters.Length; k++)
        {
            scratch.Clear();
            for (int w = first; w < words.Count; w++)
            {
                var (start, length) = words[w];
                _splitters[k].Split(text.Slice(start, length), start, scratch);
            }
            words.RemoveRange(first, words.Count - first);
            words.AddRange(scratch);
        }
        return text;
    }

    private ReadOnlySpan<char> SplitMetaspace(ReadOnlySpan<char> text, bool atTextStart, List<(int Start, int Length)> words)
    {
        string s = text.ToString().Replace(" ", _metaspace, StringComparison.Ordinal);
        bool prepend = _prependScheme == "always" || (_prependScheme == "first" && atTextStart);
        if (prepend && !s.StartsWith(_metaspace!, StringComparison.Ordinal)) s = _metaspace + s;
        if (!_metaspaceSplit) { words.Add((0, s.Length)); return s; }

        // MergedWithNext: each ▁ starts a word.
        int start = 0;
        for (int i = 1; i <= s.Length; i++)
        {
            if (i < s.Length && !s.AsSpan(i).StartsWith(_metaspace, StringComparison.Ordinal)) continue;
            words.Add((start, i - start));
            start = i;
        }
        return s;
    }
}
