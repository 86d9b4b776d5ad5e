using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

public class PromptLookupProposerTests
{
    private static ProposalRequest Sizes(int min, int max, bool tree = false) =>
        Proposals.Request(SamplingOptions.Greedy, 256, new SpeculationOptions { NgramMin = min, NgramMax = max, Tree = tree });

    private static int[] Propose(PromptLookupProposer proposer, int[] context, int max)
    {
        var tree = Proposals.Propose(proposer, context, max, 16);
        Assert.Equal(SiblingDraws.PointMass, tree.Draws);
        return Proposals.Chain(tree);
    }

    /// <summary>A new proposer's first proposal; the same whether or not it read the context in a prefill first.</summary>
    private static int[] ProposeFresh(int min, int max, int[] context, int k)
    {
        var proposer = new PromptLookupProposer();
        proposer.Reset(Sizes(min, max));
        int[] direct = Propose(proposer, context, k);
        proposer.Reset(Sizes(min, max));
        proposer.Prefill(context);
        Assert.Equal(direct, Propose(proposer, context, k));
        return direct;
    }

    [Fact]
    public void ProposesWhatFollowedTheLastNGram()
    {
        // "1 2 3 4 1 2": the bigram 1 2 occurred at 0–1, followed by 3 4 1 2.
        Assert.Equal([3, 4, 1, 2], ProposeFresh(2, 2, [1, 2, 3, 4, 1, 2], 8));
        Assert.Equal([3, 4], ProposeFresh(2, 2, [1, 2, 3, 4, 1, 2], 2));
    }

    [Fact]
    public void NoMatchProposesNothing()
    {
        Assert.Empty(ProposeFresh(2, 3, [1, 2, 3, 4, 5, 6], 4));
        Assert.Empty(ProposeFresh(1, 1, [1], 4));
    }

    [Fact]
    public void PrefersTheMostRecentOccurrence()
    {
        // 5 6 is followed by 7 first, then by 8; the later one wins.
        Assert.Equal([8, 9], ProposeFresh(2, 2, [5, 6, 7, 0, 5, 6, 8, 9, 5, 6], 2));
    }

    [Fact]
    public void PrefersTheOccurrenceWhoseMatchReachesFurthestBack()
    {
        // 2 3 4 ends at 3 (after 1) and at 8 (after 7); the context's 2 3 4 comes after 1 too, so the earlier
        // occurrence matches 4 tokens against the later one's 3 and its continuation 9 wins over 8.
        int[] context = [1, 2, 3, 4, 9, 7, 2, 3, 4, 8, 1, 2, 3, 4];
        Assert.Equal([9, 7], ProposeFresh(3, 3, context, 2));
        Assert.Equal([9, 7], ProposeFresh(2, 3, context, 2));
        // Only the most recent Candidates occurrences compete: behind 8 later ones, the far match is not seen.
        int[] crowded = [1, 2, 3, 4, 9, .. Enumerable.Repeat(new[] { 7, 2, 3, 4, 8 }, PromptLookupProposer.Candidates).SelectMany(x => x), 1, 2, 3, 4];
        Assert.Equal([8, 1], ProposeFresh(3, 3, crowded, 2));
    }

    [Fact]
    public void PrefersTheLongestMatchingNGram()
    {
        // The trigram 4 5 6 matches only at 0–2 (→ 7). The bigram 5 6 last occurred at 5–6 (→ 9), but there
        // the match reaches back 2 tokens, against 3 at 1–2, so bigrams alone pick 7 too. With 3 in place of the
        // first 4 there is no trigram, neither bigram reaches further than the other, and the latest (→ 9) wins.
        int[] context = [4, 5, 6, 7, 0, 5, 6, 9, 4, 5, 6];
        Assert.Equal([7, 0], ProposeFresh(2, 3, context, 2));
        Assert.Equal([7, 0], ProposeFresh(2, 2, context, 2));
        Assert.Equal([9, 4], ProposeFresh(2, 3, [3, 5, 6, 7, 0, 5, 6, 9, 4, 5, 6], 2));
    }

    [Fact]
    public void UnigramsMatchWhenAllowed()
    {
        Assert.Equal([2, 3], ProposeFresh(1, 3, [1, 2, 3, 9, 1], 2));
        Assert.Empty(ProposeFresh(2, 3, [1, 2, 3, 9, 1], 2));
    }

    [Fact]
    public void AContinuationRunningToTheEndIsCutThere()
    {
        // 7 7 7: the latest earlier bigram 7 7 ends at 1, so only one token follows it.
        Assert.Equal([7], ProposeFresh(2, 2, [7, 7, 7], 4));
    }

    [Fact]
    public void IncrementalIndexingMatchesABruteForceSearchAsTheContextGrows()
    {
        var random = new Random(3);
        int[] sequence = Enumerable.Range(0, 400).Select(_ => random.Next(4)).ToArray();
        var proposer = new PromptLookupProposer();
        proposer.Reset(Sizes(1, 3) with { Capacity = 64 }); // less than the context reaches: the index must grow
        for (int n = 1; n <= sequence.Length; n += 1 + random.Next(3))
        {
            int[] context = sequence[..n];
            Assert.Equal(BruteForce(context, 1, 3, 5), Propose(proposer, context, 5));
        }
    }

    /// <summary>
    /// The definition, by scanning: the longest n-gram; of its Candidates latest earlier occurrences, the one that
    /// agrees with the context furthest back (at most MaxExtension tokens before the n-gram; ties: the latest);
    /// what followed it.
    /// </summary>
    private static int[] BruteForce(int[] context, int min, int max, int k)
    {
        int n = context.Length;
        for (int size = Math.Min(max, n - 1); size >= min; size--)
        {
            int best = -1, bestReach = -1, seen = 0;
            for (int end = n - 2; end >= size - 1 && seen < PromptLookupProposer.Candidates; end--)
            {
                if (!context.AsSpan(end - size + 1, size).SequenceEqual(context.AsSpan(n - size, size))) continue;
                seen++;
                int reach = 0;
                while (reach < PromptLookupProposer.MaxExtension && end - size - reach >= 0
                       && context[end - size - reach] == context[n - 1 - size - reach]) reach++;
                if (reach > bestReach) (best, bestReach) = (end, reach);
            }
            if (best >= 0) return context[(best + 1)..Math.Min(n, best + 1 + k)];
        }
        return [];
    }

    [Fact]
    public void ResetForgetsThePreviousSequence()
    {
        var proposer = new PromptLookupProposer();
        proposer.Reset(Sizes(2, 2));
        Assert.Equal([3], Propose(proposer, [1, 2, 3, 1, 2], 1));
        proposer.Reset(Sizes(2, 2));
        Assert.Equal([8], Propose(proposer, [1, 2, 8, 1, 2], 1));
    }

    private static void AssertTree(int[] tokens, int[] parents, (int[] Tokens, int[] Parents) tree)
    {
        Assert.Equal(tokens, tree.Tokens);
        Assert.Equal(parents, tree.Parents);
    }

    /// <summary>A tree proposal: its tokens and parents.</summary>
    private static (int[] Tokens, int[] Parents) ProposeTree(int[] context, int budget, int depth, int min = 2, int max = 2)
    {
        var proposer = new PromptLookupProposer();
        proposer.Reset(Sizes(min, max, tree: true));
        var tree = Proposals.Propose(proposer, context, budget, 16, depth: depth);
        Assert.Equal(SiblingDraws.PointMass, tree.Draws);
        return (tree.Tokens.ToArray(), tree.Parents.ToArray());
    }

    [Fact]
    public void AsATreeEveryDistinctContinuationIsABranchBestReachFirst()
    {
        // 1 2 occurs ending at 1 (→ 3 4 9 1) and at 6 (→ 5 6 9 1); the later one also matches the 9 before the
        // final 1 2, so it reaches further back and comes first.
        int[] context = [1, 2, 3, 4, 9, 1, 2, 5, 6, 9, 1, 2];
        AssertTree([5, 6, 9, 1, 3, 4, 9, 1], [-1, 0, 1, 2, -1, 4, 5, 6], ProposeTree(context, 8, 4));
        // The budget cuts the second branch; the depth cuts both.
        AssertTree([5, 6, 9, 1, 3, 4], [-1, 0, 1, 2, -1, 4], ProposeTree(context, 6, 4));
        AssertTree([5, 6, 3, 4], [-1, 0, -1, 2], ProposeTree(context, 8, 2));
        // The chain is the tree's first branch.
        var chain = new PromptLookupProposer();
        chain.Reset(Sizes(2, 2));
        Assert.Equal([5, 6, 9, 1], Propose(chain, context, 4));
    }

    [Fact]
    public void ContinuationsThatAgreeShareTheirNodes()
    {
        // Both continuations start with 3, then part: 3 → {5 0 1, 4 0 1}. Identical continuations add nothing.
        AssertTree([3, 5, 0, 1, 4, 0, 1], [-1, 0, 1, 2, 0, 4, 5], ProposeTree([1, 2, 3, 4, 0, 1, 2, 3, 5, 0, 1, 2], 8, 4));
        AssertTree([3, 4], [-1, 0], ProposeTree([1, 2, 3, 4, 1, 2, 3, 4, 1, 2], 8, 2));
    }
}
