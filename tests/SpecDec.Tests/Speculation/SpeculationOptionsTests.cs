using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Generation;

namespace SpecDec.Tests.Speculation;

public class SpeculationOptionsTests
{
    private static (int Min, int Max) Lengths(string method, int? max = null, int? min = null)
    {
        var options = SpeculationOptions.For(method, max, min);
        Assert.Equal(method, options.Method);
        options.Validate();
        return (options.DraftMin, options.DraftMax);
    }

    [Fact]
    public void Each_method_has_its_own_default_lengths()
    {
        Assert.Equal((1, 8), Lengths(SpeculationMethods.DraftModel));
        Assert.Equal((4, 4), Lengths(SpeculationMethods.PromptLookup));
        Assert.True(SpeculationOptions.For(SpeculationMethods.DraftModel).DraftPMin > 0);
    }

    [Fact]
    public void A_length_given_for_one_bound_moves_the_other_only_as_far_as_it_must()
    {
        Assert.Equal((2, 2), Lengths(SpeculationMethods.PromptLookup, max: 2));
        Assert.Equal((4, 12), Lengths(SpeculationMethods.PromptLookup, max: 12));
        Assert.Equal((6, 6), Lengths(SpeculationMethods.PromptLookup, min: 6));
        Assert.Equal((3, 8), Lengths(SpeculationMethods.DraftModel, min: 3));
        Assert.Equal((5, 5), Lengths(SpeculationMethods.DraftModel, max: 5, min: 5));
    }

    [Fact]
    public void Every_method_comes_from_the_registry_and_an_unknown_one_is_named_in_the_error()
    {
        Assert.Equal([SpeculationMethods.None, SpeculationMethods.DraftModel, SpeculationMethods.PromptLookup],
            SpeculationMethods.All.Select(m => m.Name).Take(3));
        var error = Assert.Throws<SpecDecException>(() => new SpeculationOptions { Method = "hydra" }.Validate());
        Assert.Contains("'hydra'", error.Message);
        Assert.Contains("pld", error.Message);
    }

    [Fact]
    public void A_registered_method_runs_through_the_generator()
    {
        // An application's own proposer: always drafts the token after the last one (mod V) as a point mass.
        SpeculationMethods.Register(new SpeculationMethod("next-id-test", "test proposer", false,
            new SpeculationOptions { Method = "next-id-test", DraftMin = 2, DraftMax = 2 }, _ => new NextIdProposer()));
        var tokenizer = new TestTokenizer(6);
        var generator = new Generator(new NGramTestModel(tokenizer, seed: 3));
        var options = new GenerationOptions { MaxTokens = 40, Sampling = SamplingOptions.Greedy };
        var plain = generator.Generate("abc", options);
        var spec = generator.Generate("abc", options with { Speculation = SpeculationOptions.For("next-id-test") });
        Assert.Equal(plain.Tokens, spec.Tokens);
        Assert.True(spec.Stats.Drafted > 0);
        Assert.Throws<ArgumentException>(() => SpeculationMethods.Register(SpeculationMethods.Get("next-id-test")));
    }

    [Fact]
    public void A_tree_budget_must_fit_a_verification_forward()
    {
        var options = SpeculationOptions.For(SpeculationMethods.PromptLookup) with { Tree = true, TreeNodes = SpeculationOptions.MaxVerifyRows };
        Assert.Contains("tree-nodes", Assert.Throws<SpecDecException>(options.Validate).Message);
        Assert.Equal(16, (options with { TreeNodes = 16 }).MaxNodes);
    }

    private sealed class NextIdProposer : IDraftProposer
    {
        public void Reset(in ProposalRequest request) { }
        public void Prefill(ReadOnlySpan<int> prompt) { }
        public void Accepted(ReadOnlySpan<int> path) { }

        public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
        {
            int node = -1, token = context[^1];
            while (!tree.IsFull)
            {
                token = (token + 1) % 6;
                node = tree.Add(node, token);
            }
        }
    }
}
