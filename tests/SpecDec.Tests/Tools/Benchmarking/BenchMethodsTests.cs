using SpecDec.Speculation;
using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

public class BenchMethodsTests
{
    [Fact]
    public void TheBaselineComesFirstAndIsAddedWhenMissing()
    {
        Assert.Equal(["ar", "pld", "draft"], BenchMethods.Parse("pld, draft", hasDraftModel: true).Select(m => m.Name));
        Assert.Equal(["ar", "pld"], BenchMethods.Parse("pld,ar", hasDraftModel: false).Select(m => m.Name));
        Assert.True(BenchMethods.Parse("pld", false)[0].IsBaseline);
    }

    [Fact]
    public void FixedAndAdaptiveLengthsBuildTheirOptions()
    {
        var methods = BenchMethods.Parse("draft,draft-fixed,draft-fixed:3,pld:6", hasDraftModel: true);
        var adaptive = methods[1].Speculation;
        Assert.Equal((SpeculationMethods.DraftModel, 1, 8), (adaptive.Method, adaptive.DraftMin, adaptive.DraftMax));
        Assert.True(adaptive.DraftPMin > 0);
        var fixedDefault = methods[2].Speculation;
        Assert.Equal((4, 4, 0f), (fixedDefault.DraftMin, fixedDefault.DraftMax, fixedDefault.DraftPMin));
        Assert.Equal("draft-fixed:3", methods[3].Name);
        Assert.Equal((3, 3), (methods[3].Speculation.DraftMin, methods[3].Speculation.DraftMax));
        Assert.Equal((SpeculationMethods.PromptLookup, 6), (methods[4].Speculation.Method, methods[4].Speculation.DraftMax));
    }

    [Fact]
    public void A_description_states_the_length_the_method_runs_with()
    {
        var methods = BenchMethods.Parse("draft,draft:6,pld-fixed:3,pld", hasDraftModel: true);
        Assert.Contains("1..8", methods[1].Description);
        Assert.Contains("1..6", methods[2].Description);
        Assert.Contains("up to 3 tokens", methods[3].Description);
        Assert.Contains("1..8", methods[4].Description);
    }

    [Theory]
    [InlineData("beam", "unknown method 'beam'")]
    [InlineData("pld,pld", "listed twice")]
    [InlineData("draft", "needs a draft model")]
    [InlineData("pld:x", "whole number")]
    [InlineData("pld:0", "draft-max")]
    [InlineData("ar:2", "takes no length")]
    [InlineData(",", "names no method")]
    public void BadListsAreRefused(string list, string message) =>
        Assert.Contains(message, Assert.Throws<SpecDecException>(() => BenchMethods.Parse(list, hasDraftModel: false)).Message);

    [Fact]
    public void AvailableLeavesOutDraftMethodsWithoutADraftModel()
    {
        Assert.Equal(["ar", "pld", "pld-fixed", "pld-tree", "rest", "layerskip", "auto", "lookahead"], BenchMethods.Available(false).Select(m => m.Name));
        Assert.Equal(BenchMethods.Names.Where(n => n != "medusa-typical"), BenchMethods.Available(true, ["eagle", "medusa"]).Select(m => m.Name)); // lossy: only when named
        Assert.DoesNotContain(BenchMethods.Available(true, ["medusa"]), m => m.Name == "eagle");
    }
}
