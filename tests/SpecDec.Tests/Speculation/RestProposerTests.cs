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

    private static RestProposer Create(string? store, int nodes = 6, int depth = 3)
    {
        var proposer = new RestProposer(Tokenizer);
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
        Assert.Equal(["f", "fg"], Paths(Proposals.Propose(proposer, [3, 0, 1], 6, V, depth: 3)));

        // Saved, the learned answers are a datastore like any other.
        string saved = _dir.File("learned.sdds");
        using (var stream = File.Create(saved)) proposer.SaveLearned(stream);
        proposer.Forget();
        Assert.Equal(0, proposer.LearnedTokens);
        Assert.Empty(Paths(Proposals.Propose(proposer, [3, 0, 1], 6, V, depth: 3)));
        var reloaded = Create(saved);
        Assert.Equal(["f", "fg"], Paths(Proposals.Propose(reloaded, [3, 0, 1], 6, V, depth: 3)));
    }
}
