using SpecDec.Retrieval;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Formats;
using SpecDec.Tests.Generation;

namespace SpecDec.Tests.Speculation;

public sealed class RestProposerTests : IDisposable
{
    private const int V = 8;
    private static readonly TestTokenizer Tokenizer = new(V);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store(params int[] tokens)
    {
        string path = _dir.File("store.sdds");
        using (var stream = File.Create(path)) DatastoreWriter.Write(stream, tokens, Tokenizer);
        return path;
    }

    /// <summary>Each verified row past the first costs a sixth of a forward (about the bundled target's on two cores); not learned.</summary>
    private static LearnedCostCurve Moderate() => Curve(n => 1 + (n - 1) / 6.0);

    private static LearnedCostCurve Curve(Func<int, double> relative) =>
        new(new CostCurve(Enumerable.Range(1, 64).Select(relative).ToArray()), learns: false);

    private static RestProposer Create(string? store, int nodes = 6, int depth = 3, LearnedCostCurve? cost = null)
    {
        var proposer = new RestProposer(Tokenizer, cost is null ? null : () => cost);
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64,
            new SpeculationOptions { Method = SpeculationMethods.Retrieval, Datastore = store, DraftMax = depth, Tree = true, TreeNodes = nodes }));
        return proposer;
    }

    private static List<string> Paths(DraftTree tree) =>
        Enumerable.Range(0, tree.Count).Select(n =>
        {
            var path = new List<int>();
            for (int u = n; u >= 0; u = tree.Parents[u]) path.Insert(0, tree.Tokens[u]);
            return string.Concat(path.Select(t => (char)('a' + t)));
        }).ToList();

    [Fact]
    public void TheMostFrequentContinuationsOfTheLongestMatchFormTheTree()
    {
        // "b c" continues with "d e" twice and "f" once in the store; "a b c" occurs nowhere, so "b c" is the match.
        string store = Store(1, 2, 3, 4, -1, 1, 2, 3, 4, -1, 7, 1, 2, 5, -1);
        var proposer = Create(store);
        var tree = Proposals.Propose(proposer, [0, 1, 2], 6, V, depth: 3);
        Assert.Equal(["d", "de", "f"], Paths(tree));
        Assert.Equal(SiblingDraws.PointMass, tree.Draws);
    }

    [Fact]
    public void TheLongestMatchAmongTheStoresWinsAndTheRequestItselfIsOne()
    {
        string store = Store(2, 3, 4, -1); // "c" → "d e" after a 2-token match at most ("b c"? no: only "c d" …)
        var proposer = Create(store);
        // The context "a b c g a b c": its own earlier "a b c" (3 tokens) continues with "g"; the store's "c" alone is no match (2 at least).
        int[] context = [0, 1, 2, 6, 0, 1, 2];
        proposer.Prefill(context[..^1]);
        Assert.Equal(["g", "ga", "gab"], Paths(Proposals.Propose(proposer, context, 6, V, depth: 3)));
    }

    [Fact]
    public void AnswersAreLearnedAcrossRequestsUntilForgotten()
    {
        var proposer = Create(null);
        Assert.Empty(Paths(Proposals.Propose(proposer, [0, 1], 6, V, depth: 3)));
        proposer.Finished([0, 1, 5, 6, 7]);
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64,
            new SpeculationOptions { Method = SpeculationMethods.Retrieval, DraftMax = 3, Tree = true, TreeNodes = 6 }));
        Assert.Equal(["f", "fg", "fgh"], Paths(Proposals.Propose(proposer, [3, 0, 1], 6, V, depth: 3)));

        // Saved, the learned answers are a datastore like any other.
        string saved = _dir.File("learned.sdds");
        using (var stream = File.Create(saved)) proposer.SaveLearned(stream);
        proposer.Forget();
        Assert.Equal(0, proposer.LearnedTokens);
        Assert.Empty(Paths(Proposals.Propose(proposer, [3, 0, 1], 6, V, depth: 3)));
        var reloaded = Create(saved);
        Assert.Equal(["f", "fg", "fgh"], Paths(Proposals.Propose(reloaded, [3, 0, 1], 6, V, depth: 3)));
    }

    [Fact]
    public void TheTreeIsCutWhereMoreRowsCostMoreThanTheyAreExpectedToYield()
    {
        // "b c" continues with "d e" three times and "f" once.
        string store = Store(1, 2, 3, 4, -1, 1, 2, 3, 4, -1, 1, 2, 3, 4, -1, 7, 1, 2, 5, -1);
        // Free rows: every ranked node. A row as dear as a forward: no node yields a whole token.
        Assert.Equal(["d", "de", "f"], Paths(Proposals.Propose(Create(store), [0, 1, 2], 6, V, depth: 3)));
        Assert.Empty(Paths(Proposals.Propose(Create(store, cost: Curve(n => n)), [0, 1, 2], 6, V, depth: 3)));
        // A sixth of a forward a row: "d" (3 of 4 continuations) and "d e" pay, the rarer "f" does not.
        Assert.Equal(["d", "de"], Paths(Proposals.Propose(Create(store, cost: Moderate()), [0, 1, 2], 6, V, depth: 3)));
    }

    [Fact]
    public void AMatchWhoseDraftsAreRejectedStopsDrafting()
    {
        string store = Store(1, 2, 3, 4, -1, 1, 2, 3, 4, -1);
        var proposer = Create(store, cost: Moderate());
        int rounds = 0;
        while (Paths(Proposals.Propose(proposer, [0, 1, 2], 6, V, depth: 3)).Count > 0)
        {
            proposer.Accepted([]); // the target disagreed at the first token
            Assert.True(++rounds < 100, "still drafting after 100 rejections");
        }
        Assert.InRange(rounds, 2, 99);
        // Another request: what the rounds taught holds, until forgotten.
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 64,
            new SpeculationOptions { Method = SpeculationMethods.Retrieval, Datastore = store, DraftMax = 3, Tree = true, TreeNodes = 6 }));
        Assert.Empty(Paths(Proposals.Propose(proposer, [0, 1, 2], 6, V, depth: 3)));
        proposer.Forget();
        Assert.NotEmpty(Paths(Proposals.Propose(proposer, [0, 1, 2], 6, V, depth: 3)));
    }

    [Fact]
    public void TheRequestAndTheStoresAreWeighedAgainstEachOtherNotMerged()
    {
        // Both match "a b c" (3 tokens): the request continues it with "g" once, the store with "d" and "h" once each.
        string store = Store(0, 1, 2, 3, 4, -1, 0, 1, 2, 7, 4, -1);
        var proposer = Create(store, cost: Moderate());
        int[] context = [0, 1, 2, 6, 5, 0, 1, 2];
        proposer.Prefill(context[..^1]);
        // The request's single continuation is likelier than either of the store's two.
        Assert.Equal(["g", "gf"], Paths(Proposals.Propose(proposer, context, 6, V, depth: 3))[..2]);
        Assert.DoesNotContain("d", Paths(Proposals.Propose(proposer, context, 6, V, depth: 3)));
    }

    [Fact]
    public void AFrequentMatchIsSampledEvenlyNotByItsFirstContinuations()
    {
        // "b c" is followed by "d" 100 times and by "f" 100 times: the suffix array lists the "d"s first, and more
        // than FileHits of each, so counting only the first occurrences would see "d" alone.
        var tokens = new List<int>();
        for (int i = 0; i < 100; i++) tokens.AddRange([1, 2, 3, -1, 1, 2, 5, -1]);
        var tree = Proposals.Propose(Create(Store([.. tokens])), [0, 1, 2], 6, V, depth: 1);
        Assert.Equal(["d", "f"], Paths(tree).Order());
    }
}
