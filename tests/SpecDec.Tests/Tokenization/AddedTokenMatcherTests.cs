using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>Splitting on added tokens: leftmost-longest, special ones only when parsing special, lstrip / rstrip.</summary>
public sealed class AddedTokenMatcherTests
{
    private static readonly AddedTokenMatcher Matcher = new([
        new TokenizerAddedToken(10, "<|im", Special: true),
        new TokenizerAddedToken(11, "<|im_start|>", Special: true),
        new TokenizerAddedToken(12, "<tool>", Special: false, LStrip: true, RStrip: true),
    ]);

    private static string[] Split(string text, bool parseSpecial)
    {
        var parts = new List<AddedTokenMatcher.Part>();
        Matcher.Split(text, parseSpecial, parts);
        return [.. parts.Select(p => p.TokenId >= 0 ? $"#{p.TokenId}" : text.Substring(p.Start, p.Length))];
    }

    [Fact]
    public void LongestTokenWinsAtTheLeftmostPosition() =>
        Assert.Equal(["a", "#11", "b", "#10", "x"], Split("a<|im_start|>b<|imx", parseSpecial: true));

    [Fact]
    public void SpecialTokensAreTextWithoutParseSpecial() =>
        Assert.Equal(["a<|im_start|>b", "#12"], Split("a<|im_start|>b <tool>  ", parseSpecial: false));

    [Fact]
    public void StripTokensSwallowTheWhitespaceBesideThem() =>
        Assert.Equal(["x", "#12", "y"], Split("x \t<tool>\n y", parseSpecial: true));
}
