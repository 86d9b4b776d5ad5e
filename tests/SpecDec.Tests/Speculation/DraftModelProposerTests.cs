using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Generation;

namespace SpecDec.Tests.Speculation;

public class DraftModelProposerTests
{
    private const int V = 12;

    private static NGramTestModel Model(TestTokenizer tokenizer, ulong seed = 1, float scale = 3f) => new(tokenizer, seed, scale);

    [Fact]
    public void RefusesADifferentVocabularySize()
    {
        var e = Assert.Throws<SpecDecException>(() => new DraftModelProposer(Model(new TestTokenizer(V - 1)), Model(new TestTokenizer(V))));
        Assert.Contains("11 tokens", e.Message);
        Assert.Contains("12", e.Message);
    }

    [Fact]
    public void RefusesADifferentTokenText()
    {
        var target = Model(new TestTokenizer(V));
        var draft = Model(new TestTokenizer(V).WithToken(7, "zz"));
        var e = Assert.Throws<SpecDecException>(() => new DraftModelProposer(draft, target));
        Assert.Contains("token 7", e.Message);
        Assert.Contains("\"zz\"", e.Message);
    }

    [Fact]
    public void RefusesDifferentBosOrEos()
    {
        var target = Model(new TestTokenizer(V, eosId: 1, bosId: 0));
        Assert.Contains("EOS", Assert.Throws<SpecDecException>(() =>
            new DraftModelProposer(Model(new TestTokenizer(V, eosId: 2, bosId: 0)), target)).Message);
        Assert.Contains("BOS", Assert.Throws<SpecDecException>(() =>
            new DraftModelProposer(Model(new TestTokenizer(V, eosId: 1)), target)).Message);
    }

    [Fact]
    public void GreedyDraftsAreTheDraftModelsOwnGreedyContinuationWithOneHotQ()
    {
        var tokenizer = new TestTokenizer(V);
        var draft = Model(tokenizer, seed: 5);
        var proposer = new DraftModelProposer(draft, Model(tokenizer));
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64));
        int[] context = [3, 1, 4, 1, 5];
        var tree = Proposals.Propose(proposer, context, 4, V);
        int[] tokens = Proposals.Chain(tree);

        Assert.Equal(4, tokens.Length);
        Assert.Equal(SiblingDraws.WithReplacement, tree.Draws);
        var expected = new List<int>(context);
        var logits = new float[V];
        for (int i = 0; i < 4; i++)
        {
            draft.Logits(expected[^2], expected[^1], expected.Count, logits);
            int argmax = Sampler.ArgMax(logits);
            Assert.Equal(argmax, tokens[i]);
            Assert.Equal(1f, tree.Q(i)[argmax]);
            Assert.Equal(1f, tree.Q(i).ToArray().Sum());
            expected.Add(argmax);
        }
        // The cache holds the context and every draft but the last (which was never fed).
        Assert.Equal([.. context, .. tokens[..3]], draft.Caches[0].Tokens.ToArray());
    }

    [Fact]
    public void RollsBackToTheAcceptedTokensAndCatchesUpNextRound()
    {
        var tokenizer = new TestTokenizer(V);
        var draft = Model(tokenizer, seed: 5);
        var proposer = new DraftModelProposer(draft, Model(tokenizer));
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64));
        int[] context = [3, 1, 4];
        int[] tokens = Proposals.Chain(Proposals.Propose(proposer, context, 3, V));
        proposer.Accepted([0]);
        Assert.Equal([.. context, tokens[0]], draft.Caches[0].Tokens.ToArray());

        // Next round: the accepted token plus a correction 9 arrive; the draft feeds only the correction.
        int forwards = draft.Forwards;
        int[] next = [.. context, tokens[0], 9];
        Proposals.Propose(proposer, next, 1, V);
        Assert.Equal(forwards + 1, draft.Forwards);
        Assert.Equal(next, draft.Caches[0].Tokens.ToArray());
    }

    [Fact]
    public void PrefillFeedsThePromptButItsLastTokenAndLeavesTheDraftsUnchanged()
    {
        var tokenizer = new TestTokenizer(V);
        int[] context = [3, 1, 4, 1, 5, 9, 2];
        var direct = new DraftModelProposer(Model(tokenizer, seed: 5), Model(tokenizer));
        direct.Reset(Proposals.Request(SamplingOptions.Greedy, 64));
        int[] unprefilled = Proposals.Chain(Proposals.Propose(direct, context, 4, V));

        var draft = Model(tokenizer, seed: 5);
        var proposer = new DraftModelProposer(draft, Model(tokenizer));
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64));
        proposer.Prefill(context);
        Assert.Equal(context[..^1], draft.Caches[0].Tokens.ToArray());

        // The first round feeds only the last prompt token, in the forward that yields the first draft.
        int forwards = draft.Forwards;
        int[] tokens = Proposals.Chain(Proposals.Propose(proposer, context, 4, V));
        Assert.Equal(forwards + 4, draft.Forwards);
        Assert.Equal(unprefilled, tokens);
    }

    [Fact]
    public void UnreadRowsAreWhatTheNextProposalReadsBeforeItsLastToken()
    {
        var tokenizer = new TestTokenizer(V);
        var draft = Model(tokenizer, seed: 5);
        var proposer = new DraftModelProposer(draft, Model(tokenizer));
        int[] context = Enumerable.Range(0, 20).Select(i => i % V).ToArray();
        // With a window of 4, a 20-token prompt is read as its first 4 tokens (sinks) and the 3 before its last.
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64, new SpeculationOptions { DraftPMin = 0, DraftContext = 4 }));
        Assert.Equal(7, proposer.UnreadRows(context.Length));
        // Without one, all but its last.
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64));
        Assert.Equal(19, proposer.UnreadRows(context.Length));
        proposer.Prefill(context);
        Assert.Equal(19, draft.Caches[^1].Length);
        Assert.Equal(0, proposer.UnreadRows(context.Length));

        // A round keeps one draft; then other sources commit 5 tokens and a correction: the draft has 5 rows to read.
        int[] tokens = Proposals.Chain(Proposals.Propose(proposer, context, 3, V));
        proposer.Accepted([0]);
        int[] next = [.. context, tokens[0], 1, 2, 3, 4, 5, 6];
        Assert.Equal(5, proposer.UnreadRows(next.Length));
        int before = draft.Caches[^1].Length;
        Proposals.Propose(proposer, next, 1, V);
        Assert.Equal(before + 5 + 1, draft.Caches[^1].Length); // those rows and the last token, whose logits draft
    }

    [Fact]
    public void StopsDraftingWhenTheTopProbabilityFallsBelowPMin()
    {
        var tokenizer = new TestTokenizer(V);
        // A flat draft (small logit spread): its top probability is well under 0.5.
        var proposer = new DraftModelProposer(Model(tokenizer, scale: 0.1f), Model(tokenizer));
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64, new SpeculationOptions { DraftPMin = 0.5f, DraftContext = 0 }));
        Assert.Equal(0, Proposals.Propose(proposer, [1, 2, 3], 4, V).Count);

        // The next request's setting replaces it: settings travel with requests.
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64, new SpeculationOptions { DraftPMin = 0f, DraftContext = 0 }));
        Assert.Equal(4, Proposals.Propose(proposer, [1, 2, 3], 4, V).Count);
    }

    [Fact]
    public void SampledDraftsComeWithTheDistributionTheyWereDrawnFrom()
    {
        var tokenizer = new TestTokenizer(V);
        var draft = Model(tokenizer, seed: 5, scale: 1f);
        var proposer = new DraftModelProposer(draft, Model(tokenizer));
        var options = new SamplingOptions { Temperature = 0.8f, TopK = 5, TopP = 1f, MinP = 0f };
        proposer.Reset(Proposals.Request(options, 64));
        var tree = Proposals.Propose(proposer, [1, 2], 3, V, new Xoshiro256StarStar(11));
        int[] tokens = Proposals.Chain(tree);

        var expected = new float[V];
        var logits = new float[V];
        var sampler = new Sampler(options, V);
        int[] sequence = [1, 2, .. tokens];
        for (int i = 0; i < 3; i++)
        {
            draft.Logits(sequence[i], sequence[i + 1], i + 2, logits);
            sampler.Distribution(logits, sequence.AsSpan(0, i + 2), expected);
            Assert.Equal(expected, tree.Q(i).ToArray());
            Assert.True(expected[tokens[i]] > 0);
        }
    }
}
