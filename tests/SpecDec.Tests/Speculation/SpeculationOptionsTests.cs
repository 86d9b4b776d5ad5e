using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

public class SpeculationOptionsTests
{
    private static (int Min, int Max) Lengths(SpeculationMethod method, int? max = null, int? min = null)
    {
        var options = SpeculationOptions.For(method, max, min);
        Assert.Equal(method, options.Method);
        options.Validate();
        return (options.DraftMin, options.DraftMax);
    }

    [Fact]
    public void Each_method_has_its_own_default_lengths()
    {
        Assert.Equal((1, 8), Lengths(SpeculationMethod.DraftModel));
        Assert.Equal((4, 4), Lengths(SpeculationMethod.PromptLookup));
        Assert.True(SpeculationOptions.For(SpeculationMethod.DraftModel).DraftPMin > 0);
    }

    [Fact]
    public void A_length_given_for_one_bound_moves_the_other_only_as_far_as_it_must()
    {
        Assert.Equal((2, 2), Lengths(SpeculationMethod.PromptLookup, max: 2));
        Assert.Equal((4, 12), Lengths(SpeculationMethod.PromptLookup, max: 12));
        Assert.Equal((6, 6), Lengths(SpeculationMethod.PromptLookup, min: 6));
        Assert.Equal((3, 8), Lengths(SpeculationMethod.DraftModel, min: 3));
        Assert.Equal((5, 5), Lengths(SpeculationMethod.DraftModel, max: 5, min: 5));
    }
}
