using System.Text;

namespace SpecDec.Tokenization;

/// <summary>
/// tokenizer.json's normalizer, applied to each text piece between added tokens: Prepend (non-empty pieces),
/// Replace with a literal pattern, and the Unicode normalization forms. Llama-2's legacy SentencePiece form is
/// Sequence[Prepend("▁"), Replace(" ", "▁")].
/// Caveat: the repository builds with InvariantGlobalization, where .NET's string.Normalize returns its input
/// unchanged, so NFC/NFKC (Qwen2 configures NFC) only match Hugging Face on text that is already in that form —
/// which is nearly all real text; decomposed input ("e" + U+0301) may tokenize differently.
/// </summary>
internal sealed class TextNormalizer
{
    private readonly record struct Op(string Type, string? From, string? To);

    private readonly Op[] _ops;

    private TextNormalizer(Op[] ops) => _ops = ops;

    public static readonly TextNormalizer None = new([]);

    /// <summary>llama.cpp's SentencePiece handling: a space before each piece, spaces shown as ▁.</summary>
    public static readonly TextNormalizer SentencePieceLegacy = new([new Op("Prepend", null, "▁"), new Op("Replace", " ", "▁")]);

    /// <summary>The same without the prefixed space (GGUF add_space_prefix false).</summary>
    public static readonly TextNormalizer SpacesOnly = new([new Op("Replace", " ", "▁")]);

    public static TextNormalizer From(TokenizerStep? step, string source)
    {
        var ops = new List<Op>();
        Add(step, ops, source);
        return ops.Count == 0 ? None : new TextNormalizer([.. ops]);
    }

    private static void Add(TokenizerStep? step, List<Op> ops, string source)
    {
        switch (step?.Type)
        {
            case null: return;
            case "Sequence": foreach (var s in step.Steps) Add(s, ops, source); return;
            case "Prepend": ops.Add(new Op("Prepend", null, step.Content)); return;
            case "Replace" when !step.PatternIsRegex: ops.Add(new Op("Replace", step.Pattern, step.Content)); return;
            case "NFC" or "NFD" or "NFKC" or "NFKD": ops.Add(new Op(step.Type, null, null)); return;
            default:
                string what = step.Type == "Replace" ? "Replace with a regex pattern" : step.Type;
                throw new ModelFormatException(source, $"normalizer {what} is not supported");
        }
    }

    /// <summary>The normalized text: <paramref name="text"/> itself when there is nothing to do.</summary>
    public ReadOnlySpan<char> Apply(ReadOnlySpan<char> text)
    {
        if (_ops.Length == 0 || text.IsEmpty) return text;
        string s = text.ToString();
        foreach (var op in _ops)
        {
            s = op.Type switch
            {
                "Prepend" => s.Length == 0 ? s : op.To + s,
                "Replace" => op.From!.Length == 0 ? s : s.Replace(op.From, op.To, StringComparison.Ordinal),
                "NFC" => s.Normalize(NormalizationForm.FormC),
                "NFD" => s.Normalize(NormalizationForm.FormD),
                "NFKC" => s.Normalize(NormalizationForm.FormKC),
                _ => s.Normalize(NormalizationForm.FormKD),
            };
        }
        return s;
    }
}
