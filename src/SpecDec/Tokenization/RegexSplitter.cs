using System.Text.RegularExpressions;

namespace SpecDec.Tokenization;

/// <summary>
/// Split(Isolated) for a pattern we have no scanner for, on .NET's regex engine: matches and the gaps between
/// them become pieces; empty matches are skipped. .NET matches UTF-16, so a letter outside the BMP is not
/// \p{L} here as it is in Oniguruma; the known patterns avoid that through their scanners.
/// </summary>
internal sealed class RegexSplitter : TextSplitter
{
    private readonly Regex _regex;

    public RegexSplitter(string pattern, string source)
    {
        try
        {
            _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(source, $"pre-tokenizer regex '{pattern}' is not supported: {e.Message}", e);
        }
    }

    public override void Split(ReadOnlySpan<char> text, int offset, List<(int Start, int Length)> pieces)
    {
        int done = 0;
        foreach (var m in _regex.EnumerateMatches(text))
        {
            if (m.Length == 0) continue;
            if (m.Index > done) pieces.Add((offset + done, m.Index - done));
            pieces.Add((offset + m.Index, m.Length));
            done = m.Index + m.Length;
        }
        if (done < text.Length) pieces.Add((offset + done, text.Length - done));
    }
}
