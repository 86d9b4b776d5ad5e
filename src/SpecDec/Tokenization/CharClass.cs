using System.Buffers;
using System.Globalization;
using System.Text;

namespace SpecDec.Tokenization;

/// <summary>
/// The character classes the pre-tokenizer regexes use, per code point (as Oniguruma sees the text):
/// \p{L}, \p{N}, \s, and everything else. A surrogate pair is one code point; a lone surrogate is Other.
/// </summary>
internal enum CharClass : byte { Other, Letter, Number, Space }

internal static class CharClasses
{
    private static readonly CharClass[] Ascii = BuildAscii();

    /// <summary>The class of the code point starting at text[i]; <paramref name="length"/> is 1 or 2 chars.</summary>
    public static CharClass At(ReadOnlySpan<char> text, int i, out int length)
    {
        char c = text[i];
        if (c < 128) { length = 1; return Ascii[c]; }
        if (Rune.DecodeFromUtf16(text[i..], out Rune r, out length) != OperationStatus.Done) return CharClass.Other;
        return Of(r);
    }

    public static CharClass Of(Rune r)
    {
        if (Rune.IsWhiteSpace(r)) return CharClass.Space;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
            _ => CharClass.Other,
        };
    }

    /// <summary>End of the run of code points of class <paramref name="cls"/> starting at i.</summary>
    public static int RunEnd(ReadOnlySpan<char> text, int i, CharClass cls)
    {
        while (i < text.Length && At(text, i, out int len) == cls) i += len;
        return i;
    }

    private static CharClass[] BuildAscii()
    {
        var table = new CharClass[128];
        for (int c = 0; c < 128; c++) table[c] = Of(new Rune(c));
        return table;
    }
}
