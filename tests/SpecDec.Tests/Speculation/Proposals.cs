using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

/// <summary>Runs a proposer the way the generation loop does, for tests that look at single proposals.</summary>
internal static class Proposals
{
    /// <summary>A request; by default a draft model drafts every token it is asked for and reads the whole context.</summary>
    public static ProposalRequest Request(SamplingOptions sampling, int capacity, SpeculationOptions? speculation = null) =>
        new(sampling, speculation ?? new SpeculationOptions { DraftPMin = 0, DraftContext = 0 }, capacity);

    /// <summary>One proposal of at most <paramref name="budget"/> nodes, <paramref name="depth"/> deep (default: a chain's).</summary>
    public static DraftTree Propose(IDraftProposer proposer, ReadOnlySpan<int> context, int budget, int vocab,
        Xoshiro256StarStar? rng = null, int? depth = null)
    {
        var tree = new DraftTree(budget, vocab);
        tree.Clear(budget, depth);
        proposer.Propose(context, tree, rng ?? new Xoshiro256StarStar(0));
        return tree;
    }

    /// <summary>The tokens of a proposal that must be a chain.</summary>
    public static int[] Chain(DraftTree tree)
    {
        Assert.True(tree.IsChain, "the proposal is not a chain");
        return tree.Tokens.ToArray();
    }
}
