namespace SpecDec.Tokenization;

/// <summary>
/// Llama-3's pre-tokenizer, <see cref="TextSplitter.Llama3Pattern"/> (digits in groups of up to 3), and
/// Qwen2's, <see cref="TextSplitter.Qwen2Pattern"/> (single digits), as a scanner. Tested against the regexes
/// on .NET's engine.
/// </summary>
internal sealed class Llama3Splitter(int maxDigits) : TextSplitter
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

    private int MatchAt(ReadOnlySpan<char> text, int i)
    {
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (text[i] == '\'' && Contraction(text[(i + 1)..]) is > 0 and int c) return 1 + c;

        var cls = CharClasses.At(text, i, out int len);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (cls == CharClass.Letter) return CharClasses.RunEnd(text, i, CharClass.Letter) - i;
        bool newline = text[i] is '\r' or '\n';
        if (cls != CharClass.Number && !newline && i + len < text.Length && CharClasses.At(text, i + len, out _) == CharClass.Letter)
            return CharClasses.RunEnd(text, i + len, CharClass.Letter) - i;

        // \p{N}{1,maxDigits}
        if (cls == CharClass.Number)
        {
            int j = i;
            for (int n = 0; n < maxDigits && j < text.Length && CharClasses.At(text, j, out int l) == CharClass.Number; n++) j += l;
            return j - i;
        }

        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        int k = i;
        if (text[i] == ' ' && i + 1 < text.Length && CharClasses.At(text, i + 1, out _) == CharClass.Other) k++;
        if (k > i || cls == CharClass.Other)
        {
            k = CharClasses.RunEnd(text, k, CharClass.Other);
            while (k < text.Length && text[k] is '\r' or '\n') k++;
            return k - i;
        }

        // \s*[\r\n]+ : up to and including the last newline of the whitespace run.
        int end = CharClasses.RunEnd(text, i, CharClass.Space);
        int lastNewline = text[i..end].LastIndexOfAny('\r', '\n');
        if (lastNewline >= 0) return lastNewline + 1;

        // \s+(?!\S)|\s+
        return Gpt2Splitter.WhitespaceRun(text, i, len);
    }

    /// <summary>Chars after the apostrophe of 's 't 're 've 'm 'll 'd in any ASCII case, else 0.</summary>
    private static int Contraction(ReadOnlySpan<char> rest)
    {
        if (rest.IsEmpty) return 0;
        if (AsciiLower(rest[0]) is 's' or 't' or 'm' or 'd') return 1;
        if (rest.Length < 2) return 0;
        var two = (AsciiLower(rest[0]), AsciiLower(rest[1]));
        return two is ('r', 'e') or ('v', 'e') or ('l', 'l') ? 2 : 0;
    }

    private static char AsciiLower(char c) => c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c;
}
