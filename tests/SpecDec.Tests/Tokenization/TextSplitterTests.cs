using CsCheck;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>
/// The hand-written GPT-2 / Llama-3 / Qwen2 pre-tokenizer scanners against their regexes run by .NET's regex
/// engine (the reference twin), on fixed and on random strings of tricky characters. Random strings stay in the
/// BMP: outside it .NET's regex sees surrogates where Oniguruma sees letters (the fixture tests cover that).
/// </summary>
public sealed class TextSplitterTests
{
    public static TheoryData<string> Patterns => [TextSplitter.Gpt2Pattern, TextSplitter.Llama3Pattern, TextSplitter.Qwen2Pattern];

    private const string Alphabet = "aZé中ß01²٣Ⅻ  \t\n\r\u00A0\u3000'sStTrReEvVmMlLdD.,!?-_()\"\u0301\u200B$€😀";

    [Theory]
    [MemberData(nameof(Patterns))]
    public void ScannerMatchesRegexOnRandomStrings(string pattern)
    {
        var scanner = TextSplitter.ForPattern(pattern, "test");
        var regex = new RegexSplitter(pattern, "test");
        Assert.IsNotType<RegexSplitter>(scanner);
        // A mismatch shrinks to a short string that shows it.
        PropertyCheck.ForAll(Gen.String[Gen.Char[Alphabet.Replace("😀", "")], 0, 24],
            s => Assert.Equal(Pieces(regex, s), Pieces(scanner, s)), seed: 1234, cases: 10_000);
    }

    [Theory]
    [InlineData("Hello world", new[] { "Hello", " world" })]
    [InlineData("I'm  here\n\n", new[] { "I", "'m", " ", " here", "\n\n" })]
    [InlineData("x = 12345;", new[] { "x", " =", " 12345", ";" })]
    [InlineData("  leading", new[] { " ", " leading" })]
    [InlineData("emoji 😀😀!", new[] { "emoji", " 😀😀!" })]
    public void Gpt2SplitsKnownStrings(string text, string[] expected) =>
        Assert.Equal(expected, Pieces(TextSplitter.ForPattern(TextSplitter.Gpt2Pattern, "test"), text));

    [Theory]
    [InlineData("x = 12345;", new[] { "x", " =", " ", "123", "45", ";" })]
    [InlineData("I'M here\n\n  hi", new[] { "I", "'M", " here", "\n\n", " ", " hi" })]
    [InlineData("(hello) \tworld", new[] { "(hello", ")", " ", "\tworld" })]
    [InlineData("a𝐀b", new[] { "a𝐀b" })]
    public void Llama3SplitsKnownStrings(string text, string[] expected) =>
        Assert.Equal(expected, Pieces(TextSplitter.ForPattern(TextSplitter.Llama3Pattern, "test"), text));

    [Fact]
    public void Qwen2SplitsDigitsSingly() =>
        Assert.Equal(["x", " ", "1", "2", "3"], Pieces(TextSplitter.ForPattern(TextSplitter.Qwen2Pattern, "test"), "x 123"));

    private static string[] Pieces(TextSplitter splitter, string s)
    {
        var pieces = new List<(int Start, int Length)>();
        splitter.Split(s, 0, pieces);
        Assert.Equal(s.Length, pieces.Sum(p => p.Length));
        return [.. pieces.Select(p => s.Substring(p.Start, p.Length))];
    }
}
