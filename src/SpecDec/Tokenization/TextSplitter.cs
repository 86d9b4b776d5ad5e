namespace SpecDec.Tokenization;

/// <summary>
/// A pre-tokenizer regex used as Hugging Face's Split(behavior: Isolated): the text becomes its matches and the
/// gaps between them, in order. The known GPT-2 / Llama-3 / Qwen2 patterns run as hand-written scanners over
/// code points; any other pattern runs on .NET's regex engine.
/// </summary>
internal abstract class TextSplitter
{
    public const string Gpt2Pattern =
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public const string Qwen2Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Appends the pieces of <paramref name="text"/> as (start, length), starts offset by <paramref name="offset"/>.</summary>
    public abstract void Split(ReadOnlySpan<char> text, int offset, List<(int Start, int Length)> pieces);

    /// <param name="source">Names the file in the error for a pattern .NET cannot compile.</param>
    public static TextSplitter ForPattern(string pattern, string source) => pattern switch
    {
        Gpt2Pattern => new Gpt2Splitter(),
        Llama3Pattern => new Llama3Splitter(maxDigits: 3),
        Qwen2Pattern => new Llama3Splitter(maxDigits: 1),
        _ => new RegexSplitter(pattern, source),
    };
}
