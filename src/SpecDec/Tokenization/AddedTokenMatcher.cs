namespace SpecDec.Tokenization;

/// <summary>
/// Splits text on added-token texts before anything else runs, leftmost-longest as Hugging Face's
/// AddedVocabulary does, so BPE never runs inside them. Special tokens are matched only when parsing special;
/// lstrip / rstrip tokens swallow the whitespace beside them.
/// </summary>
internal sealed class AddedTokenMatcher
{
    /// <summary>A piece of the input: an added token (<see cref="TokenId"/> ≥ 0) or text to tokenize.</summary>
    public readonly record struct Part(int Start, int Length, int TokenId);

    private readonly Dictionary<char, TokenizerAddedToken[]> _byFirstChar; // longest first

    public AddedTokenMatcher(IEnumerable<TokenizerAddedToken> tokens) =>
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());

    public bool IsEmpty => _byFirstChar.Count == 0;

    public void Split(ReadOnlySpan<char> text, bool parseSpecial, List<Part> parts)
    {
        int textStart = 0;
        for (int i = 0; i < text.Length;)
        {
            var match = _byFirstChar.Count == 0 ? null : MatchAt(text, i, parseSpecial);
            if (match is null) { i++; continue; }

            int textEnd = i;
            if (match.LStrip) while (textEnd > textStart && char.IsWhiteSpace(text[textEnd - 1])) textEnd--;
            if (textEnd > textStart) parts.Add(new Part(textStart, textEnd - textStart, -1));
            parts.Add(new Part(i, match.Content.Length, match.Id));
            i += match.Content.Length;
            if (match.RStrip) while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            textStart = i;
        }
        if (textStart < text.Length) parts.Add(new Part(textStart, text.Length - textStart, -1));
    }

    private TokenizerAddedToken? MatchAt(ReadOnlySpan<char> text, int i, bool parseSpecial)
    {
        if (!_byFirstChar.TryGetValue(text[i], out var candidates)) return null;
        foreach (var t in candidates)
            if ((parseSpecial || !t.Special) && text[i..].StartsWith(t.Content, StringComparison.Ordinal)) return t;
        return null;
    }
}
