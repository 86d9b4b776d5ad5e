using SpecDec.Generation;

namespace SpecDec.Tests.Generation;

public class TokenTextStreamTests
{
    [Fact]
    public void ACharacterSplitAcrossTokensIsEmittedWhenComplete()
    {
        // "é" is C3 A9 and "🙂" is F0 9F 99 82 in UTF-8; byte-level vocabularies split them across tokens.
        byte[][] tokens = [[(byte)'a'], [0xC3], [0xA9], [0xF0, 0x9F], [0x99], [0x82, (byte)'!']];
        var stream = new TokenTextStream(new TestTokenizer(tokens));
        Assert.Equal("a", stream.Push(0).ToString());
        Assert.Equal("", stream.Push(1).ToString());
        Assert.Equal("é", stream.Push(2).ToString());
        Assert.Equal("", stream.Push(3).ToString());
        Assert.Equal("", stream.Push(4).ToString());
        Assert.Equal("🙂!", stream.Push(5).ToString());
        Assert.Equal("", stream.Flush().ToString());
    }

    [Fact]
    public void AnIncompleteCharacterAtTheEndBecomesAReplacementCharacter()
    {
        var stream = new TokenTextStream(new TestTokenizer([[0xC3]]));
        Assert.Equal("", stream.Push(0).ToString());
        Assert.Equal("\uFFFD", stream.Flush().ToString());
    }
}
