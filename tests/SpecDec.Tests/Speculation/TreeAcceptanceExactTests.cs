using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

/// <summary>
/// Exact proof, by enumeration, that the verifier's tree walk is lossless (a port of
/// shared/research/tree_verify_exact.py, extended to depth 2): on a vocabulary of a few tokens, every draw of
/// the draft tree is enumerated with its probability, and for each tree every outcome of the verifier's own
/// random choices (accept or reject each child, each residual sample) is followed with its probability. The
/// joint law of the first two emitted tokens must be p(x) · p(y | x) to 1e-9, for deterministic siblings and
/// siblings drawn with and without replacement. The walk runs in double precision here, the same code the
/// engine runs in float. Verifiers that forget to renormalise fail.
/// </summary>
public class TreeAcceptanceExactTests
{
    private const double Tolerance = 1e-9;

    [Theory]
    [InlineData(SiblingDraws.PointMass)]
    [InlineData(SiblingDraws.WithReplacement)]
    [InlineData(SiblingDraws.WithoutReplacement)]
    public void Depth1TreesKeepTheTargetDistribution(SiblingDraws draws)
    {
        var random = new Random(0);
        for (int trial = 0; trial < 200; trial++)
        {
            int v = random.Next(2, 7), k = random.Next(1, Math.Min(3, v) + 1);
            var law = Law.Random(random, v);
            Assert.True(Deviation(law, draws, [k], () => new TreeAcceptance<double>(v)) < Tolerance, $"trial {trial}: V {v}, k {k}");
        }
    }

    [Theory]
    [InlineData(SiblingDraws.PointMass)]
    [InlineData(SiblingDraws.WithReplacement)]
    [InlineData(SiblingDraws.WithoutReplacement)]
    public void Depth2TreesKeepTheTargetDistribution(SiblingDraws draws)
    {
        var random = new Random(1);
        for (int trial = 0; trial < 25; trial++)
        {
            int v = random.Next(2, 5), k1 = random.Next(1, Math.Min(2, v) + 1), k2 = random.Next(1, Math.Min(2, v) + 1);
            var law = Law.Random(random, v);
            Assert.True(Deviation(law, draws, [k1, k2], () => new TreeAcceptance<double>(v)) < Tolerance, $"trial {trial}: V {v}, k {k1}, {k2}");
        }
    }

    [Theory]
    [InlineData(SiblingDraws.PointMass)]
    [InlineData(SiblingDraws.WithReplacement)]
    [InlineData(SiblingDraws.WithoutReplacement)]
    public void AVerifierThatForgetsToRenormaliseTheResidualFails(SiblingDraws draws) =>
        Assert.True(WorstOver(draws, v => new UnnormalisedResidual(v)) > 1e-3);

    [Fact]
    public void AVerifierThatForgetsToRenormaliseQWithoutReplacementFails() =>
        Assert.True(WorstOver(SiblingDraws.WithoutReplacement, v => new RawSiblingQ(v)) > 1e-3);

    [Fact]
    public void GreedyDescendsIntoTheChildThatIsTheArgmaxAtEveryLevel()
    {
        // Root children 1, 2; below 2: 0, 3. Argmax after the root is 2, after 2 it is 3, after 3 it is 0 (bonus).
        var tree = new DraftTree(4, 4);
        tree.Clear(4);
        tree.Add(-1, 1);
        int two = tree.Add(-1, 2);
        tree.Add(two, 0);
        tree.Add(two, 3);
        var law = new Law([0, 0, 1, 0], [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]], [], []);
        var dists = new Distributions(law, tree);
        var choices = new Choices();
        var path = new int[2];
        var verdict = new TreeAcceptance<double>(4).Walk(tree, greedy: true, ref dists, ref choices, path);
        Assert.Equal(new Verdict(2, 0, IsBonus: true), verdict);
        Assert.Equal([1, 3], path);
    }

    /// <summary>Typical acceptance is lossy, which the exact test must see (it is opt-in and labelled so).</summary>
    [Fact]
    public void TypicalAcceptanceDoesNotKeepTheTargetDistribution() =>
        Assert.True(WorstOver(SiblingDraws.PointMass, v => new TreeAcceptance<double>(v), TypicalAcceptance.Medusa) > 1e-3);

    [Fact]
    public void TypicalAcceptanceTakesTheLikeliestChildAboveTheCut()
    {
        // V = 8. Root children 1, 2, 5; below 2: 0. After the root p = [0.04, 0.16, 0.2, 0.1, 0.1, 0.02, 0.2, 0.18]:
        // H ≈ 1.95, 0.3·e^−H ≈ 0.043 < ε = 0.09, so the cut is 0.043. Children 1 (0.16) and 2 (0.2) pass, 5 (0.02)
        // does not: the walk descends into 2, the likelier. After 2, p(0) = 0.03 is under that node's cut (p
        // peaked on 7: cut 0.09), so nothing more stands and the next token is drawn from p after 2.
        var tree = new DraftTree(4, 4);
        tree.Clear(4);
        tree.Add(-1, 1);
        int two = tree.Add(-1, 2);
        tree.Add(-1, 5);
        tree.Add(two, 0);
        double[] afterRoot = [0.04, 0.16, 0.2, 0.1, 0.1, 0.02, 0.2, 0.18];
        double[] afterTwo = [0.03, 0, 0, 0, 0, 0, 0, 0.97];
        double[] other = [1, 0, 0, 0, 0, 0, 0, 0];
        double[][] next = [other, other, afterTwo, other, other, other, other, other];
        var law = new Law(afterRoot, next, [], []);
        var dists = new Distributions(law, tree);
        var choices = new Choices();
        var path = new int[2];
        var verdict = new TreeAcceptance<double>(8).Walk(tree, greedy: false, ref dists, ref choices, path, TypicalAcceptance.Medusa);
        Assert.Equal(new Verdict(1, 0, IsBonus: false), verdict); // Choices takes a draw's first outcome: token 0 of p after 2
        Assert.Equal(two, path[0]);
        Assert.Equal(0.03, choices.Weight, 12); // drawn from p after 2 itself, no residual

        Assert.Equal(0.09, TypicalAcceptance.Medusa.Cutoff<double>([0.5, 0.5]), 6); // 0.3 · e^−ln 2 = 0.15 > ε
        Assert.Equal(0.3 / 8, TypicalAcceptance.Medusa.Cutoff<double>(Enumerable.Repeat(1.0 / 8, 8).ToArray()), 6);
    }

    private static double WorstOver(SiblingDraws draws, Func<int, TreeAcceptance<double>> acceptance, TypicalAcceptance typical = default)
    {
        var random = new Random(2);
        double worst = 0;
        for (int trial = 0; trial < 100; trial++)
        {
            int v = random.Next(3, 6), k = random.Next(2, Math.Min(3, v) + 1);
            worst = Math.Max(worst, Deviation(Law.Random(random, v), draws, [k], () => acceptance(v), typical));
        }
        return worst;
    }

    /// <summary>
    /// The target p after the root and after each first token, and the draft's q at the same places: a tiny
    /// language whose two-token law the verifier must reproduce.
    /// </summary>
    private sealed record Law(double[] PRoot, double[][] PNext, double[] QRoot, double[][] QNext)
    {
        public int V => PRoot.Length;

        public static Law Random(Random random, int v) => new(
            Distribution(random, v), Enumerable.Range(0, v).Select(_ => Distribution(random, v)).ToArray(),
            Distribution(random, v), Enumerable.Range(0, v).Select(_ => Distribution(random, v)).ToArray());

        /// <summary>Cubed uniforms, normalised: peaked, with near-zero entries, as in the Python original.</summary>
        private static double[] Distribution(Random random, int v)
        {
            double[] d = Enumerable.Range(0, v).Select(_ => Math.Pow(random.NextDouble(), 3)).ToArray();
            double sum = d.Sum();
            return d.Select(x => x / sum).ToArray();
        }
    }

    /// <summary>
    /// max |out − expected| over the two-token joint law, where out sums over every draw of a tree of
    /// <paramref name="branching"/> children per level and every outcome of the verifier's choices.
    /// </summary>
    private static double Deviation(Law law, SiblingDraws draws, int[] branching, Func<TreeAcceptance<double>> make, TypicalAcceptance typical = default)
    {
        int v = law.V;
        var joint = new double[v, v];
        var acceptance = make();
        foreach (var (tree, weight) in Trees(law, draws, branching))
        {
            var dists = new Distributions(law, tree);
            var choices = new Choices();
            var path = new int[branching.Length];
            do
            {
                var verdict = acceptance.Walk(tree, greedy: false, ref dists, ref choices, path, typical);
                double w = weight * choices.Weight;
                if (w == 0) continue;
                int first = verdict.Accepted >= 1 ? tree.Tokens[path[0]] : verdict.Token;
                if (verdict.Accepted == 0)
                    for (int y = 0; y < v; y++) joint[first, y] += w * law.PNext[first][y]; // the next round's plain draw
                else
                    joint[first, verdict.Accepted >= 2 ? tree.Tokens[path[1]] : verdict.Token] += w;
            } while (choices.Advance());
        }
        double worst = 0;
        for (int x = 0; x < v; x++)
            for (int y = 0; y < v; y++)
            {
                // NaN: a broken walk sampled from a residual with no mass (the engine's sampler throws there).
                double d = Math.Abs(joint[x, y] - law.PRoot[x] * law.PNext[x][y]);
                worst = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(worst, d);
            }
        return worst;
    }

    /// <summary>Every draft tree the proposer could draw, with its probability.</summary>
    private static IEnumerable<(DraftTree Tree, double Weight)> Trees(Law law, SiblingDraws draws, int[] branching)
    {
        foreach (var (root, rootWeight) in Draws(law.QRoot, branching[0], draws))
        {
            if (branching.Length == 1)
            {
                yield return (Build(draws, root, []), rootWeight);
                continue;
            }
            // Each root child's children are drawn independently from q after that child.
            var perChild = root.Select(x => Draws(law.QNext[x], branching[1], draws).ToArray()).ToArray();
            foreach (var combination in Product(perChild))
                yield return (Build(draws, root, combination.Select(c => c.Tokens).ToArray()),
                    rootWeight * combination.Aggregate(1.0, (w, c) => w * c.Weight));
        }
    }

    private static DraftTree Build(SiblingDraws draws, int[] root, int[][] below)
    {
        var tree = new DraftTree(root.Length * (1 + below.Select(b => b.Length).DefaultIfEmpty(0).Max()), 1);
        tree.Clear(tree.Capacity);
        tree.Draws = draws;
        var nodes = root.Select(x => tree.Add(-1, x)).ToArray();
        for (int i = 0; i < below.Length; i++)
            foreach (int y in below[i]) tree.Add(nodes[i], y);
        return tree;
    }

    /// <summary>The k children a proposer draws from q under each scheme, with the probability of that draw.</summary>
    private static IEnumerable<(int[] Tokens, double Weight)> Draws(double[] q, int k, SiblingDraws draws)
    {
        int v = q.Length;
        if (draws == SiblingDraws.PointMass)
        {
            yield return (Enumerable.Range(0, v).OrderByDescending(t => q[t]).ThenBy(t => t).Take(k).ToArray(), 1.0);
            yield break;
        }
        foreach (int[] draw in Sequences(v, k))
        {
            if (draws == SiblingDraws.WithoutReplacement && draw.Distinct().Count() < k) continue;
            double weight = 1, left = 1;
            foreach (int x in draw)
            {
                weight *= draws == SiblingDraws.WithReplacement ? q[x] : q[x] / left;
                if (draws == SiblingDraws.WithoutReplacement) left -= q[x];
            }
            yield return (draw, weight);
        }
    }

    private static IEnumerable<int[]> Sequences(int v, int k) =>
        k == 0 ? [[]] : Sequences(v, k - 1).SelectMany(s => Enumerable.Range(0, v).Select(x => (int[])[.. s, x]));

    private static IEnumerable<T[]> Product<T>(T[][] sets) =>
        sets.Length == 0 ? [[]] : Product(sets[1..]).SelectMany(rest => sets[0].Select(x => (T[])[x, .. rest]));

    /// <summary>p after the root or after a node's token; q below the root or below a node's token.</summary>
    private sealed class Distributions(Law law, DraftTree tree) : ITreeDistributions<double>
    {
        public int Target(int row, ReadOnlySpan<int> path, Span<double> p)
        {
            double[] source = row == 0 ? law.PRoot : law.PNext[tree.Tokens[row - 1]];
            source.CopyTo(p);
            int best = 0;
            for (int i = 1; i < source.Length; i++)
                if (source[i] > source[best]) best = i;
            return best;
        }

        public ReadOnlySpan<double> Draft(int node) =>
            tree.Parents[node] < 0 ? law.QRoot : law.QNext[tree.Tokens[tree.Parents[node]]];
    }

    /// <summary>
    /// Follows one outcome of every random choice per run, recording its probability; <see cref="Advance"/>
    /// moves to the next outcome depth-first, so repeated runs visit every outcome once.
    /// </summary>
    private sealed class Choices : IRandomChoices<double>
    {
        private readonly List<int> _taken = [];   // the option taken at each choice of the run
        private readonly List<int> _options = []; // how many options each choice had
        private int _at;

        public double Weight { get; private set; } = 1;

        public bool Accept(double mass, double scale)
        {
            double a = scale > 0 ? Math.Min(1, mass / scale) : mass > 0 ? 1 : 0;
            bool accept = Next(2) == 0;
            Weight *= accept ? a : 1 - a;
            return accept;
        }

        public int Sample(ReadOnlySpan<double> weights)
        {
            double total = 0;
            foreach (double w in weights) total += w;
            int x = Next(weights.Length);
            Weight *= weights[x] / total;
            return x;
        }

        private int Next(int options)
        {
            if (_at == _taken.Count)
            {
                _taken.Add(0);
                _options.Add(options);
            }
            return _taken[_at++];
        }

        /// <summary>Moves to the next unvisited outcome; false when every one was visited.</summary>
        public bool Advance()
        {
            _at = 0;
            Weight = 1;
            while (_taken.Count > 0 && _taken[^1] + 1 == _options[^1])
            {
                _taken.RemoveAt(_taken.Count - 1);
                _options.RemoveAt(_options.Count - 1);
            }
            if (_taken.Count == 0) return false;
            _taken[^1]++;
            return true;
        }
    }

    /// <summary>Divides by 1 instead of the residual's mass: p(x) is compared unnormalised after a rejection.</summary>
    private sealed class UnnormalisedResidual(int v) : TreeAcceptance<double>(v)
    {
        protected override double Mass(ReadOnlySpan<double> residual) => 1;
    }

    /// <summary>Uses the shared q for every sibling drawn without replacement, as if the earlier ones could recur.</summary>
    private sealed class RawSiblingQ(int v) : TreeAcceptance<double>(v)
    {
        protected override ReadOnlySpan<double> SiblingQ(DraftTree tree, int first, int child, ReadOnlySpan<double> q, double drawn) => q;
    }
}
