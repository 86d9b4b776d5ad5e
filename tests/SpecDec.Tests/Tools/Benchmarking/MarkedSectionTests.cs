using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

public class MarkedSectionTests
{
    // The options table of docs/benchmarks.md names the markers inside a line: only a line of its own counts.
    private const string Doc = "# Title\n\nWrites between `<!-- bench-summary:begin -->` and `<!-- bench-summary:end -->`.\n\n" +
        "<!-- bench-summary:begin -->\nold table\n<!-- bench-summary:end -->\n\nAfter.\n";

    [Fact]
    public void OnlyTheLinesBetweenTheMarkersAreReplaced()
    {
        string once = MarkedSection.Replace(Doc, "| new |\n", "doc.md");
        Assert.Equal("# Title\n\nWrites between `<!-- bench-summary:begin -->` and `<!-- bench-summary:end -->`.\n\n" +
            "<!-- bench-summary:begin -->\n| new |\n<!-- bench-summary:end -->\n\nAfter.\n", once);
        Assert.Equal(once, MarkedSection.Replace(once, "| new |", "doc.md"));  // again: the same file
    }

    [Theory]
    [InlineData("no markers\n", "no '<!-- bench-summary:begin -->'")]
    [InlineData("<!-- bench-summary:begin -->\n", "no '<!-- bench-summary:end -->'")]
    [InlineData("<!-- bench-summary:end -->\n<!-- bench-summary:begin -->\n", "comes before")]
    [InlineData("<!-- bench-summary:begin -->\n<!-- bench-summary:end -->\n<!-- bench-summary:end -->\n", "more than once")]
    public void BadMarkersAreRefusedNamingTheFile(string text, string message)
    {
        var e = Assert.Throws<SpecDecException>(() => MarkedSection.Replace(text, "x", "docs/x.md"));
        Assert.StartsWith("docs/x.md: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("README.md")]
    [InlineData("docs/benchmarks.md")]
    public void ThePublishedDocsCarryTheMarkers(string doc)
    {
        string path = Path.Combine(RepoPaths.Root, doc);
        Assert.Contains("\n| ar |", MarkedSection.Replace(File.ReadAllText(path), "| ar |", path));
    }
}
