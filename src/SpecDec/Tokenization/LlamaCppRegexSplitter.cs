using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SpecDec.Tokenization;

/// <summary>
/// One of llama.cpp's pre-tokenizer regexes with llama.cpp's own semantics (unicode_regex_split): matches and
/// the gaps between them become pieces. A regex with \p{L}/\p{N}/\p{P}/\p{M}/\p{S} runs on the "collapsed"
/// text, one char per code point: ASCII as is, whitespace as \v, every other code point as a placeholder of its
/// category (and each \p{X} in the regex becomes [placeholder + its ASCII members]). A regex without categories
/// runs on the code points with non-ASCII whitespace as \v. The regexes are ECMAScript-style (std::regex): \s is
/// ASCII whitespace, which is what the \v rewriting leaves .NET's \s to see.
/// </summary>
internal sealed class LlamaCppRegexSplitter : TextSplitter
{
    private const char Number = '\u00D1', Letter = '\u00D2', Punctuation = '\u00D3', Mark = '\u00D4', Symbol = '\u00D5', OtherCat = '\u00D0';

    // llama.cpp's k_ucat_map: each category's ASCII members, as regex class text.
    private static readonly (string Name, char Placeholder, string Ascii)[] Categories =
    [
        (@"\p{N}", Number, "0-9"),
        (@"\p{L}", Letter, "A-Za-z"),
        (@"\p{P}", Punctuation, @"!-#%-*,-/:-;?-@\[-\]_\{\}"),
        (@"\p{M}", Mark, ""),
        (@"\p{S}", Symbol, @"\$\+<->^`\|\~"),
    ];

    private readonly Regex _regex;
    private readonly bool _collapsed;

    public LlamaCppRegexSplitter(string pattern, string source)
    {
        _collapsed = Categories.Any(c => pattern.Contains(c.Name, StringComparison.Ordinal));
        string net = _collapsed ? Collapse(pattern) : WidenSupplementaryClasses(pattern);
        // ECMAScript's $ is the end of the input; .NET's also matches before a final \n.
        if (net.EndsWith('$') && !net.EndsWith(@"\$", StringComparison.Ordinal)) net = net[..^1] + @"\z";
        try
        {
            _regex = new Regex(net, RegexOptions.Compiled | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(source, $"pre-tokenizer regex '{pattern}' is not supported: {e.Message}", e);
        }
    }

    public override void Split(ReadOnlySpan<char> text, int offset, List<(int Start, int Length)> pieces)
    {
        if (text.IsEmpty) return;
        if (!_collapsed)
        {
            // Whitespace is in the BMP, so the rewritten text keeps every index.
            Emit(text, WhitespaceAsV(text), null, offset, pieces);
            return;
        }
        // One char per code point; starts[i] is where code point i begins in text.
        int[] starts = ArrayPool<int>.Shared.Rent(text.Length + 1);
        char[] chars = ArrayPool<char>.Shared.Rent(text.Length);
        try
        {
            int n = 0;
            for (int i = 0; i < text.Length;)
            {
                starts[n] = i;
                if (Rune.DecodeFromUtf16(text[i..], out Rune r, out int len) != OperationStatus.Done) r = Rune.ReplacementChar;
                chars[n++] = CollapsedChar(r);
                i += len;
            }
            starts[n] = text.Length;
            Emit(text, chars.AsSpan(0, n), starts, offset, pieces);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(starts);
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <param name="starts">Index in text of each subject char (and its end), or null when they are the same.</param>
    private void Emit(ReadOnlySpan<char> text, ReadOnlySpan<char> subject, int[]? starts, int offset, List<(int Start, int Length)> pieces)
    {
        int done = 0;
        foreach (var m in _regex.EnumerateMatches(subject))
        {
            if (m.Length == 0) continue;
            int s = starts?[m.Index] ?? m.Index, e = starts?[m.Index + m.Length] ?? m.Index + m.Length;
            if (s > done) pieces.Add((offset + done, s - done));
            pieces.Add((offset + s, e - s));
            done = e;
        }
        if (done < text.Length) pieces.Add((offset + done, text.Length - done));
    }

    private static string WhitespaceAsV(ReadOnlySpan<char> text)
    {
        var chars = text.ToArray();
        for (int i = 0; i < chars.Length; i++) if (chars[i] > 0x7F && char.IsWhiteSpace(chars[i])) chars[i] = '\v';
        return new string(chars);
    }

    private static char CollapsedChar(Rune r)
    {
        if (r.Value < 128) return (char)r.Value;
        if (Rune.IsWhiteSpace(r)) return '\v';
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => Mark,
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => Punctuation,
            UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol => Symbol,
            _ => OtherCat,
        };
    }

    /// <summary>llama.cpp's regex rewrite: \p{X} → [placeholder ASCII-members], without brackets inside a class.</summary>
    private static string Collapse(string pattern)
    {
        if (pattern.Any(c => c >= 128))
            throw new ArgumentException("a regex with unicode categories must otherwise be ASCII", nameof(pattern));
        var sb = new StringBuilder();
        bool inside = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '[' && (i == 0 || pattern[i - 1] != '\\')) { inside = true; sb.Append(c); continue; }
            if (inside && c == ']' && pattern[i - 1] != '\\') { inside = false; sb.Append(c); continue; }
            var cat = Categories.FirstOrDefault(k => pattern.AsSpan(i).StartsWith(k.Name, StringComparison.Ordinal));
            if (cat.Name != null)
            {
                if (!inside) sb.Append('[');
                sb.Append(cat.Placeholder).Append(cat.Ascii);
                if (!inside) sb.Append(']');
                i += cat.Name.Length - 1;
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// A class with code points beyond the BMP (std::wregex sees them as one char each) becomes an alternation
    /// of its BMP part and the surrogate pairs of each supplementary range.
    /// </summary>
    private static string WidenSupplementaryClasses(string pattern)
    {
        if (!pattern.Any(char.IsSurrogate)) return pattern;
        var sb = new StringBuilder();
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '[' || (i > 0 && pattern[i - 1] == '\\')) { sb.Append(pattern[i]); continue; }
            int end = i + 1;
            while (pattern[end] != ']' || pattern[end - 1] == '\\') end++;
            string body = pattern[(i + 1)..end];
            if (!body.Any(char.IsSurrogate) || body.StartsWith('^')) { sb.Append(pattern, i, end - i + 1); i = end; continue; }

            var bmp = new StringBuilder();
            var alternatives = new List<string>();
            var runes = body.EnumerateRunes().ToArray();
            for (int k = 0; k < runes.Length; k++)
            {
                Rune lo = runes[k], hi = lo;
                if (k + 2 < runes.Length && runes[k + 1].Value == '-') { hi = runes[k + 2]; k += 2; }
                if (hi.Value < 0x10000) { bmp.Append(lo.ToString()); if (hi != lo) bmp.Append('-').Append(hi.ToString()); continue; }
                alternatives.AddRange(SurrogateRanges(lo.Value, hi.Value));
            }
            sb.Append("(?:");
            if (bmp.Length > 0) alternatives.Insert(0, $"[{bmp}]");
            sb.Append(string.Join('|', alternatives)).Append(')');
            i = end;
        }
        return sb.ToString();
    }

    private static IEnumerable<string> SurrogateRanges(int lo, int hi)
    {
        static (char High, char Low) Split(int cp) { Span<char> u = stackalloc char[2]; new Rune(cp).EncodeToUtf16(u); return (u[0], u[1]); }
        var (hLo, lLo) = Split(lo);
        var (hHi, lHi) = Split(hi);
        for (char h = hLo; h <= hHi; h++)
        {
            char from = h == hLo ? lLo : '\uDC00', to = h == hHi ? lHi : '\uDFFF';
            yield return $"\\u{(int)h:X4}[\\u{(int)from:X4}-\\u{(int)to:X4}]";
        }
    }
}
