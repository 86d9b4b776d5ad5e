namespace SpecDec.Tokenization;

/// <summary>
/// GPT-2's pre-tokenizer, <see cref="TextSplitter.Gpt2Pattern"/>, as a scanner: contractions, an optional space
/// then a run of letters / numbers / other symbols, and whitespace runs that leave their last space to the
/// next word. Tested against the regex on .NET's engine.
/// </summary>
internal sealed class Gpt2Splitter : TextSplitter
{
    public override void Split(ReadOnlySpan<char> text, int offset, List<(int Start, int Length)> pieces)
    {
        for (int i = 0; i < text.Length;)
        {
            int length = MatchAt(text, i);
            pieces.Add((offset + i, length));
            i += length;
        }
    }

    private static int MatchAt(ReadOnlySpan<char> text, int i)
    {
        if (text[i] == '\'' && Contraction(text[(i + 1)..]) is > 0 and int c) return 1 + c;
        var cls = CharClasses.At(text, i, out int len);
        int start = i;
        if (text[i] == ' ' && i + 1 < text.Length)
        {
            var next = CharClasses.At(text, i + 1, out _);
            if (next != CharClass.Space) { cls = next; i++; }
        }
        if (cls != CharClass.Space) return CharClasses.RunEnd(text, i, cls) - start;
        return WhitespaceRun(text, start, len);
    }

    /// <summary>`\s+(?!\S)|\s+`: the run, less its last char when a word follows and the run is longer than one.</summary>
    internal static int WhitespaceRun(ReadOnlySpan<char> text, int start, int firstLength)
    {
        int end = CharClasses.RunEnd(text, start, CharClass.Space);
        if (end == text.Length || end - start == firstLength) return end - start;
        return LastCodePointStart(text, start, end) - start;
    }

    /// <summary>Where the last code point of text[start..end) begins.</summary>
    internal static int LastCodePointStart(ReadOnlySpan<char> text, int start, int end) =>
        end - 2 >= start && char.IsLowSurrogate(text[end - 1]) && char.IsHighSurrogate(text[end - 2]) ? end - 2 : end - 1;

    /// <summary>Chars after the apostrophe of 's 't 're 've 'm 'll 'd (case-sensitive), else 0.</summary>
    private static int Contraction(ReadOnlySpan<char> rest)
    {
        if (rest.IsEmpty) return 0;
        if (rest[0] is 's' or 't' or 'm' or 'd') return 1;
        if (rest.Length >= 2 && (rest.StartsWith("re") || rest.StartsWith("ve") || rest.StartsWith("ll"))) return 2;
        return 0;
    }
}
