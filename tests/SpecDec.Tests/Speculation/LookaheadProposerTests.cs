using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

public class LookaheadProposerTests
{
    private const int V = 16;

    private static LookaheadProposer Create(int window, int ngram, int guesses)
    {
        var proposer = new LookaheadProposer(V);
        var options = new SpeculationOptions { Method = SpeculationMethods.Lookahead }.WithLookahead(window, ngram, guesses);
        options.Validate();
        proposer.Reset(Proposals.Request(SamplingOptions.Greedy, 256, options));
        return proposer;
    }

    /// <summary>Every root-to-leaf path of a proposal, as token lists.</summary>
    private static List<int[]> Branches(DraftTree tree)
    {
        var branches = new List<int[]>();
        for (int node = 0; node < tree.Count; node++)
        {
            if (tree.FirstChild(node) >= 0) continue;
            var path = new List<int>();
            for (int u = node; u >= 0; u = tree.Parents[u]) path.Insert(0, tree.Tokens[u]);
            branches.Add(path.ToArray());
        }
        return branches;
    }

    [Fact]
    public void TheContextsNgramsAfterTheLastTokenAreProposedNewestFirstAsATree()
    {
        var proposer = Create(window: 2, ngram: 3, guesses: 2);
        // 1 is followed by "2 3", then "4 5", then "2 3" again (kept once), then "6 7": the pool holds the newest 2.
        int[] context = [1, 2, 3, 1, 4, 5, 1, 2, 3, 1, 6, 7, 0, 1];
        var tree = Proposals.Propose(proposer, context, 4, V, depth: 2);
        Assert.Equal(SiblingDraws.PointMass, tree.Draws);
        Assert.Equal([[6, 7], [4, 5]], Branches(tree));
    }

    [Fact]
    public void TheWindowIsATreeBelowTheRootAndItsColumnsBecomeNgrams()
    {
        // W = 2, N = 3: rows (0,1), (1,0), (1,1); (0,1) and (1,0) sit below the root, (1,1) below (0,1).
        var proposer = Create(window: 2, ngram: 3, guesses: 4);
        int[] context = [9, 9, 9, 9, 9, 9, 9, 5];
        Assert.Empty(Branches(Proposals.Propose(proposer, context, 8, V, depth: 2))); // 5 starts no n-gram yet
        Assert.Equal(3, proposer.MaxSideRows);
        var tokens = new int[3];
        var parents = new int[3];
        var wanted = new int[3];
        Assert.Equal(3, proposer.SideRows(tokens, parents, wanted, out int wantedCount));
        Assert.Equal([-1, -1, 0], parents);
        Assert.Equal(2, wantedCount);
        Assert.Equal([1, 2], wanted[..2]);                    // the last level's rows
        Assert.All(tokens, t => Assert.True(t is 9 or 5));    // filled from the context

        // The target's argmax after (1,0) is 11 and after (1,1) is 12: n-grams 5 tokens[1] 11 and tokens[0] tokens[2] 12.
        var logits = new float[2 * V];
        logits[11] = 1;
        logits[V + 12] = 1;
        proposer.SideLogits(logits);
        var tree = Proposals.Propose(proposer, context, 8, V, depth: 2);
        var expected = new List<int[]>();
        if (tokens[0] == 5) expected.Add([tokens[2], 12]); // column 1's n-gram is newer, when its first token is 5 too
        if (tokens[0] != 5 || tokens[2] != tokens[1]) expected.Add([tokens[1], 11]);
        Assert.Equal(expected, Branches(tree).OrderBy(b => b[1] == 11 ? 1 : 0).ToList());

        // The window moved down a level: level 0 is the old level 1, level 1 the new tokens.
        Assert.Equal(3, proposer.SideRows(tokens, parents, wanted, out _));
        Assert.Equal(12, tokens[2]);
        Assert.Equal(11, tokens[1]);
    }

    [Fact]
    public void NoSideRowsWhenTheForwardHasNoRoomForTheWindow()
    {
        var proposer = Create(window: 3, ngram: 4, guesses: 1);
        Proposals.Propose(proposer, [1, 2, 3], 3, V, depth: 3);
        var room = new int[proposer.MaxSideRows - 1];
        Assert.Equal(0, proposer.SideRows(room, room, room, out int wanted));
        Assert.Equal(0, wanted);
    }

    [Fact]
    public void ThePoolKeepsTheNewestPerKeyWithoutDuplicates()
    {
        var pool = new NgramPool();
        pool.Reset(V, 2, 2);
        pool.Add(3, [1, 2]);
        pool.Add(3, [1, 2]);
        Assert.Equal(1, pool.Count(3));
        pool.Add(3, [4, 5]);
        pool.Add(3, [6, 7]);
        Assert.Equal(2, pool.Count(3));
        Assert.Equal([6, 7], pool.Get(3, 0).ToArray());
        Assert.Equal([4, 5], pool.Get(3, 1).ToArray());
        Assert.Equal(0, pool.Count(4));
        for (int key = 0; key < V; key++) pool.Add(key, [key, key]); // more keys than the first allocation holds
        pool.Reset(V, 2, 2);
        Assert.Equal(0, pool.Count(3));
    }

    [Theory]
    [InlineData(0, 4, 4, "lookahead-window")]
    [InlineData(5, 2, 4, "lookahead-ngram")]
    [InlineData(5, 4, 0, "lookahead-guesses")]
    [InlineData(16, 5, 1, "(ngram − 1) × (window + guesses)")]
    public void OptionsOutOfRangeAreNamed(int window, int ngram, int guesses, string named)
    {
        var options = new SpeculationOptions { Method = SpeculationMethods.Lookahead }.WithLookahead(window, ngram, guesses);
        var error = Assert.Throws<SpecDecException>(options.Validate);
        Assert.Contains(named, error.Message);
    }
}
