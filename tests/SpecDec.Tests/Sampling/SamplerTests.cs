using SpecDec.Sampling;

namespace SpecDec.Tests.Sampling;

public class SamplerTests
{
    /// <summary>Logits whose softmax is exactly the given probabilities.</summary>
    private static float[] LogitsOf(params double[] probs) => probs.Select(p => (float)Math.Log(p)).ToArray();

    private static float[] Run(SamplingOptions options, float[] logits, int[]? context = null)
    {
        var probs = new float[logits.Length];
        new Sampler(options, logits.Length).Distribution(logits, context ?? [], probs);
        return probs;
    }

    private static SamplingOptions Plain(float temperature = 1f) =>
        new() { Temperature = temperature, TopK = 0, TopP = 1f, MinP = 0f };

    /// <summary>Softmax in double over the ids in keep (others 0), the reference the sampler is held to.</summary>
    private static double[] Softmax(float[] logits, double temperature, IEnumerable<int>? keep = null)
    {
        int[] ids = (keep ?? Enumerable.Range(0, logits.Length)).ToArray();
        double max = ids.Max(i => logits[i] / temperature);
        var result = new double[logits.Length];
        foreach (int i in ids) result[i] = Math.Exp(logits[i] / temperature - max);
        double sum = result.Sum();
        for (int i = 0; i < result.Length; i++) result[i] /= sum;
        return result;
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"id {i}: expected {expected[i]}, got {actual[i]}");
    }

    private static int[] Kept(float[] probs) => Enumerable.Range(0, probs.Length).Where(i => probs[i] > 0).ToArray();

    [Fact]
    public void GreedyIsOneHotOnTheArgmaxWithTiesToTheLowestId()
    {
        float[] probs = Run(SamplingOptions.Greedy, [0.1f, 2.5f, -1f, 2.5f, 0f]);
        Assert.Equal([0f, 1f, 0f, 0f, 0f], probs);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.7)]
    [InlineData(2.0)]
    public void TemperatureDividesTheLogits(double temperature)
    {
        float[] logits = [1.5f, -0.25f, 0.75f, 3f, -2f];
        AssertClose(Softmax(logits, temperature), Run(Plain((float)temperature), logits));
    }

    [Fact]
    public void ReturnsTheMostLikelyToken()
    {
        float[] logits = [1.5f, -0.25f, 4f, 3f, -2f];
        var probs = new float[5];
        Assert.Equal(2, new Sampler(new SamplingOptions(), 5).Distribution(logits, [], probs));
    }

    [Fact]
    public void TopKKeepsTheKLargestWithTiesToTheLowerId()
    {
        float[] logits = [1f, 3f, 3f, 2f, 0f, 2f];
        Assert.Equal([1, 2], Kept(Run(Plain() with { TopK = 2 }, logits)));
        float[] three = Run(Plain() with { TopK = 3 }, logits);
        Assert.Equal([1, 2, 3], Kept(three));
        AssertClose(Softmax(logits, 1, [1, 2, 3]), three);
    }

    [Fact]
    public void TopKOnLongTiedOrSortedLogitsKeepsTheRightIds()
    {
        const int v = 1000;
        Assert.Equal(Enumerable.Range(0, 7), Kept(Run(Plain() with { TopK = 7 }, new float[v])));
        float[] ascending = Enumerable.Range(0, v).Select(i => i / 100f).ToArray();
        Assert.Equal(Enumerable.Range(v - 33, 33), Kept(Run(Plain() with { TopK = 33 }, ascending)));
        float[] descending = ascending.Reverse().ToArray();
        Assert.Equal(Enumerable.Range(0, 33), Kept(Run(Plain() with { TopK = 33 }, descending)));
    }

    [Theory]
    [InlineData(0.45, new[] { 0 })]
    [InlineData(0.55, new[] { 0, 1 })]
    [InlineData(0.75, new[] { 0, 1, 2 })]
    [InlineData(0.9, new[] { 0, 1, 2, 3 })]
    [InlineData(0.99, new[] { 0, 1, 2, 3, 4 })]
    public void TopPKeepsTheSmallestPrefixReachingP(double topP, int[] expected)
    {
        // Shuffled so that id order is not rank order: ranks are 0.5, 0.2, 0.15, 0.1, 0.05.
        int[] ranks = [3, 0, 4, 1, 2];
        double[] byRank = [0.5, 0.2, 0.15, 0.1, 0.05];
        float[] logits = LogitsOf(ranks.Select(r => byRank[r]).ToArray());
        float[] probs = Run(Plain() with { TopP = (float)topP }, logits);
        int[] keptRanks = Kept(probs).Select(id => ranks[id]).Order().ToArray();
        Assert.Equal(expected, keptRanks);
        AssertClose(Softmax(logits, 1, Kept(probs)), probs);
    }

    [Fact]
    public void MinPKeepsTokensAboveTheFractionOfTheTopProbability()
    {
        float[] logits = LogitsOf(0.5, 0.2, 0.15, 0.1, 0.05);
        // Threshold 0.25 × 0.5 = 0.125.
        float[] probs = Run(Plain() with { MinP = 0.25f }, logits);
        Assert.Equal([0, 1, 2], Kept(probs));
        AssertClose(Softmax(logits, 1, [0, 1, 2]), probs);
    }

    [Fact]
    public void TopPAppliesToTheTopKRenormalisedDistribution()
    {
        // After top-3 the masses are 0.588, 0.235, 0.176: top-p 0.7 keeps two (0.588 < 0.7 ≤ 0.824).
        float[] logits = LogitsOf(0.5, 0.2, 0.15, 0.1, 0.05);
        Assert.Equal([0, 1], Kept(Run(Plain() with { TopK = 3, TopP = 0.7f }, logits)));
    }

    [Fact]
    public void TemperatureIsAppliedBeforeTopP()
    {
        // At T = 1 top-p 0.6 keeps {0, 1}; at T = 0.5 the probabilities are 0.5²:0.2²:… → 0.78 for id 0 alone.
        float[] logits = LogitsOf(0.5, 0.2, 0.15, 0.1, 0.05);
        Assert.Equal([0, 1], Kept(Run(Plain() with { TopP = 0.6f }, logits)));
        Assert.Equal([0], Kept(Run(Plain(0.5f) with { TopP = 0.6f }, logits)));
    }

    [Fact]
    public void TruncationMatchesAFullSortReferenceOnRandomLogits()
    {
        var random = new Random(7);
        const int v = 3000;
        for (int trial = 0; trial < 60; trial++)
        {
            // Few distinct values so that ties are common.
            float[] logits = Enumerable.Range(0, v).Select(_ => random.Next(0, 400) / 37f).ToArray();
            int topK = trial % 3 == 0 ? 0 : random.Next(1, 200);
            float topP = trial % 4 == 0 ? 1f : (float)(0.05 + 0.9 * random.NextDouble());
            float minP = trial % 5 < 2 ? 0f : (float)(0.3 * random.NextDouble());
            float temperature = 0.3f + (float)random.NextDouble();
            var options = Plain(temperature) with { TopK = topK, TopP = topP, MinP = minP };

            // Reference: sort by (logit desc, id asc), cut to K, then (P < 1) keep while the mass before < P,
            // then keep probabilities ≥ MinP × the top one.
            int[] order = Enumerable.Range(0, v).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
            if (topK > 0) order = order[..topK];
            double[] p = Softmax(logits, temperature, order);
            var keep = new List<int>();
            double before = 0;
            foreach (int id in order)
            {
                if (topP < 1 && before >= topP) break;
                keep.Add(id);
                before += p[id];
            }
            keep.RemoveAll(id => p[id] < minP * p[order[0]]);
            int[] kept = Kept(Run(options, logits));
            Assert.True(keep.Order().SequenceEqual(kept), $"trial {trial}: {options} kept {kept.Length}, expected {keep.Count}");
        }
    }

    [Fact]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOnce()
    {
        float[] logits = [2f, -1f, 0.5f, 3f];
        var options = Plain() with { RepetitionPenalty = 2f, RepetitionWindow = 64 };
        // Token 0 appears twice but is penalised once: 2 / 2 = 1; token 1: -1 × 2 = -2.
        AssertClose(Softmax([1f, -2f, 0.5f, 3f], 1), Run(options, logits, [0, 1, 0]));
    }

    [Fact]
    public void RepetitionPenaltyLooksOnlyAtTheWindow()
    {
        float[] logits = [2f, -1f, 0.5f, 3f];
        var options = Plain() with { RepetitionPenalty = 2f, RepetitionWindow = 2 };
        // Only the last two context tokens (1 and 3) count.
        AssertClose(Softmax([2f, -2f, 0.5f, 1.5f], 1), Run(options, logits, [0, 0, 1, 3]));
    }

    [Fact]
    public void RepetitionPenaltyCanChangeTheGreedyChoice()
    {
        float[] logits = [2f, 1.5f];
        Assert.Equal([0f, 1f], Run(SamplingOptions.Greedy with { RepetitionPenalty = 1.5f }, logits, [0]));
    }

    [Fact]
    public void SampleFollowsTheDistribution()
    {
        double[] p = [0.3, 0.0, 0.25, 0.2, 0.1, 0.08, 0.05, 0.02];
        float[] probs = p.Select(x => (float)x).ToArray();
        var rng = new Xoshiro256StarStar(2024);
        const int n = 100_000;
        var counts = new int[p.Length];
        for (int i = 0; i < n; i++) counts[Sampler.Sample(probs, rng)]++;

        Assert.Equal(0, counts[1]);
        double chi2 = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] == 0) continue;
            double expected = p[i] * n;
            chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
        }
        // 6 degrees of freedom: P(χ² > 22.46) = 0.001.
        Assert.True(chi2 < 22.46, $"χ² = {chi2}");
    }

    [Fact]
    public void SampleIsReproducibleFromTheSeed()
    {
        float[] probs = [0.25f, 0.25f, 0.25f, 0.25f];
        int[] Draw(ulong seed)
        {
            var rng = new Xoshiro256StarStar(seed);
            return Enumerable.Range(0, 50).Select(_ => Sampler.Sample(probs, rng)).ToArray();
        }
        Assert.Equal(Draw(5), Draw(5));
        Assert.NotEqual(Draw(5), Draw(6));
    }

    [Theory]
    [InlineData(-0.1f, 0, 1f, 0f, 1f)]
    [InlineData(1f, -1, 1f, 0f, 1f)]
    [InlineData(1f, 0, 0f, 0f, 1f)]
    [InlineData(1f, 0, 1.5f, 0f, 1f)]
    [InlineData(1f, 0, 1f, -0.5f, 1f)]
    [InlineData(1f, 0, 1f, 0f, 0f)]
    public void RejectsOptionsOutOfRange(float temperature, int topK, float topP, float minP, float penalty)
    {
        var options = new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP, RepetitionPenalty = penalty };
        Assert.Throws<SpecDecException>(() => new Sampler(options, 4));
    }

    [Theory]
    [InlineData(float.NaN, 0f)]
    [InlineData(0f, float.NaN)]
    [InlineData(float.PositiveInfinity, 0f)]
    [InlineData(float.NegativeInfinity, float.NegativeInfinity)]
    public void NonFiniteLogitsAreOneClearErrorGreedyOrNot(float a, float b)
    {
        // NaN weights reach the logits as NaN: sampling had no mass and greedy silently picked a token.
        float[] logits = [1f, a, 2f, b];
        foreach (var options in new[] { SamplingOptions.Greedy, new SamplingOptions { Temperature = 0.8f } })
        {
            float[] all = a == float.NegativeInfinity ? [a, a, a, b] : logits;
            var error = Assert.Throws<SpecDecException>(() => new Sampler(options, 4).Distribution(all, [], new float[4]));
            Assert.Contains("not finite", error.Message);
        }
    }
}
