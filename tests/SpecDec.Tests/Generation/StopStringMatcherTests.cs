using System.Text;
using SpecDec.Generation;

namespace SpecDec.Tests.Generation;

public class StopStringMatcherTests
{
    private static (List<string> Emitted, bool Stopped) Feed(string[] stops, params string[] pieces)
    {
        var matcher = new StopStringMatcher(stops);
        var emitted = new List<string>();
        var output = new StringBuilder();
        foreach (string piece in pieces)
        {
            output.Clear();
            matcher.Push(piece, output);
            emitted.Add(output.ToString());
        }
        output.Clear();
        matcher.Flush(output);
        emitted.Add(output.ToString());
        return (emitted, matcher.Stopped);
    }

    [Fact]
    public void WithoutStopStringsEverythingPassesStraightThrough()
    {
        Assert.Equal(["ab", "cd", ""], Feed([], "ab", "cd").Emitted);
    }

    [Fact]
    public void HoldsBackAPossibleStartOfAStopStringUntilItIsDecided()
    {
        // "<e" might begin "<end>"; "<x" shows it does not.
        var (emitted, stopped) = Feed(["<end>"], "ab<", "e", "x", "y");
        Assert.Equal(["ab", "", "<ex", "y", ""], emitted);
        Assert.False(stopped);
    }

    [Fact]
    public void CutsJustBeforeAStopStringSplitAcrossPieces()
    {
        var (emitted, stopped) = Feed(["<end>"], "ab<e", "nd>tail", "more");
        Assert.Equal(["ab", "", "", ""], emitted);
        Assert.True(stopped);
    }

    [Fact]
    public void TheEarliestOfSeveralStopStringsWins()
    {
        var (emitted, stopped) = Feed(["cde", "b"], "abcdef");
        Assert.Equal(["a", ""], emitted);
        Assert.True(stopped);
    }

    [Fact]
    public void FlushReleasesHeldBackText()
    {
        Assert.Equal(["x", "<en"], Feed(["<end>"], "x<en").Emitted);
    }
}
