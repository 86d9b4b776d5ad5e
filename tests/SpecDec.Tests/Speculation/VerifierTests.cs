using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Tests.Speculation;

/// <summary>Scripted logits through every branch of the verifier.</summary>
public class VerifierTests
{
    private const float Never = float.NegativeInfinity;

    private static readonly SamplingOptions Full = new() { Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0f };

    /// <summary>Logits whose softmax (T = 1) is exactly the given probabilities (0 → −∞).</summary>
    private static float[] LogitsOf(params double[] probs) =>
        probs.Select(p => p == 0 ? Never : (float)Math.Log(p)).ToArray();

    private static float[] Rows(params float[][] rows) => rows.SelectMany(r => r).ToArray();

    private static float[] Probs(params double[] p) => p.Select(x => (float)x).ToArray();

    private static Verdict Verify(SamplingOptions options, float[] logits, int[] committed, int[] draft, float[]? q,
        Xoshiro256StarStar rng)
    {
        int v = logits.Length / (draft.Length + 1);
        var verifier = new Verifier(new Sampler(options, v));
        var tree = Chain(draft, q, v);
        int[] sequence = [.. committed, .. new int[draft.Length + 1]];
        var verdict = verifier.Verify(logits, tree, sequence, committed.Length, new int[draft.Length], rng);
        // The verifier writes the accepted drafts, then the correction or bonus, after the committed tokens.
        Assert.Equal([.. committed, .. draft[..verdict.Accepted], verdict.Token], sequence[..(committed.Length + verdict.Accepted + 1)]);
        return verdict;
    }

    /// <summary>A chain of drafts, each drawn from its row of <paramref name="q"/> [drafts × V], or point masses.</summary>
    private static DraftTree Chain(int[] draft, float[]? q, int v)
    {
        var tree = new DraftTree(Math.Max(1, draft.Length), v);
        tree.Clear(draft.Length);
        if (q is not null) tree.Draws = SiblingDraws.WithReplacement;
        for (int i = 0; i < draft.Length; i++)
        {
            int row = -1;
            if (q is not null)
            {
                row = tree.NewQRow(out Span<float> qRow);
                q.AsSpan(i * v, v).CopyTo(qRow);
            }
            tree.Add(i - 1, draft[i], row);
        }
        return tree;
    }

    /// <summary>Counts the outcomes of many independent verifications of the same draft.</summary>
    private static Dictionary<Verdict, int> Outcomes(SamplingOptions options, float[] logits, int[] draft, float[]? q, int trials)
    {
        var rng = new Xoshiro256StarStar(99);
        var counts = new Dictionary<Verdict, int>();
        for (int i = 0; i < trials; i++)
        {
            var verdict = Verify(options, logits, [0], draft, q, rng);
            counts[verdict] = counts.GetValueOrDefault(verdict) + 1;
        }
        return counts;
    }

    /// <summary>χ² of observed counts against expected probabilities; fails above the 0.001 critical value.</summary>
    private static void AssertMatches(Dictionary<Verdict, int> counts, Dictionary<Verdict, double> expected, int trials)
    {
        Assert.All(counts.Keys, k => Assert.True(expected.ContainsKey(k), $"unexpected outcome {k}"));
        double chi2 = expected.Sum(e => Math.Pow(counts.GetValueOrDefault(e.Key) - e.Value * trials, 2) / (e.Value * trials));
        double[] critical = [0, 10.83, 13.82, 16.27, 18.47, 20.52]; // P(χ²_df > c) = 0.001, df = 1..5
        Assert.True(chi2 < critical[expected.Count - 1], $"χ² = {chi2:F2} over {expected.Count - 1} df");
    }

    [Fact]
    public void GreedyAcceptsMatchingDraftsAndAddsTheBonus()
    {
        float[] logits = Rows([0f, 3f, 1f, 0f], [2f, 0f, 1f, 0f], [0f, 0f, 1f, 4f]);
        var verdict = Verify(SamplingOptions.Greedy, logits, [0], [1, 0], null, new Xoshiro256StarStar(1));
        Assert.Equal(new Verdict(2, 3, IsBonus: true), verdict);
    }

    [Fact]
    public void GreedyReplacesTheFirstMismatchWithTheArgmax()
    {
        float[] logits = Rows([0f, 3f, 1f, 0f], [2f, 0f, 1f, 0f], [0f, 0f, 1f, 4f]);
        Assert.Equal(new Verdict(0, 1, IsBonus: false), Verify(SamplingOptions.Greedy, logits, [0], [2, 0], null, new(1)));
        Assert.Equal(new Verdict(1, 0, IsBonus: false), Verify(SamplingOptions.Greedy, logits, [0], [1, 3], null, new(1)));
    }

    [Fact]
    public void GreedyAppliesTheRepetitionPenaltyOverTheDraftsBeforeEachPosition()
    {
        // Same logits at both positions. Position 0 sees context [3]: token 0 wins. Position 1 also sees
        // draft token 0, whose logit 2 becomes 2 / 1.5 = 1.33 < 1.5, so token 1 wins there.
        float[] row = [2f, 1.5f, 0f, 0f];
        var options = SamplingOptions.Greedy with { RepetitionPenalty = 1.5f };
        var verdict = Verify(options, Rows(row, row, row), [3], [0, 0], null, new(1));
        Assert.Equal(new Verdict(1, 1, IsBonus: false), verdict);
    }

    [Fact]
    public void SamplingAcceptsEveryDraftWhereTheTargetIsAtLeastAsLikelyAndDrawsTheBonusFromTheNextP()
    {
        // p(x) ≥ q(x) at both positions, so both always stand; the bonus follows p₂ = [0.2, 0.8, 0].
        float[] logits = Rows(LogitsOf(0.2, 0.5, 0.3), LogitsOf(0.6, 0.3, 0.1), LogitsOf(0.2, 0.8, 0));
        float[] q = [.. Probs(0.4, 0.4, 0.2), .. Probs(0.5, 0.3, 0.2)];
        const int trials = 20_000;
        var counts = Outcomes(Full, logits, [1, 0], q, trials);
        AssertMatches(counts, new() { [new(2, 0, true)] = 0.2, [new(2, 1, true)] = 0.8 }, trials);
    }

    [Fact]
    public void SamplingRejectsTheFirstDraftAndDrawsFromTheResidual()
    {
        // p₀(2) = 0 so x₀ = 2 is always rejected; max(0, p₀ − q₀) = [0.3, 0.1, 0] → corrections 0 or 1 at 3 : 1.
        float[] logits = Rows(LogitsOf(0.6, 0.4, 0), LogitsOf(1, 0, 0), LogitsOf(1, 0, 0));
        float[] q = [.. Probs(0.3, 0.3, 0.4), .. Probs(1, 0, 0)];
        const int trials = 20_000;
        var counts = Outcomes(Full, logits, [2, 0], q, trials);
        AssertMatches(counts, new() { [new(0, 0, false)] = 0.75, [new(0, 1, false)] = 0.25 }, trials);
    }

    [Fact]
    public void SamplingAcceptsWithTheRatioAndRejectsInTheMiddle()
    {
        // The worked example of the Verifier's doc comment. x₀ = 2: accepted with 0.35 / 0.7 = 0.5, else the
        // correction follows max(0, p₀ − q₀) = [0.1, 0.25, 0] → 0 : 1 at 2 : 5. x₁ = 0: accepted with 0.5, else
        // correction 2 (residual [0, 0, 0.3]). A full accept draws the bonus from p₂ = [0, 1, 0].
        float[] logits = Rows(LogitsOf(0.2, 0.45, 0.35), LogitsOf(0.3, 0.3, 0.4), LogitsOf(0, 1, 0));
        float[] q = [.. Probs(0.1, 0.2, 0.7), .. Probs(0.6, 0.3, 0.1)];
        const int trials = 40_000;
        var counts = Outcomes(Full, logits, [2, 0], q, trials);
        AssertMatches(counts, new()
        {
            [new(0, 0, false)] = 0.5 * 2 / 7,
            [new(0, 1, false)] = 0.5 * 5 / 7,
            [new(1, 2, false)] = 0.25,
            [new(2, 1, true)] = 0.25,
        }, trials);
    }

    [Fact]
    public void PointMassDraftsAreAcceptedWithPAndOtherwiseReplacedFromPWithoutThem()
    {
        // p = [0.5, 0.3, 0.2], x = 1: accepted with 0.3; else 0 or 2 at 5 : 2. After acceptance p₁ = [0, 0, 1].
        float[] logits = Rows(LogitsOf(0.5, 0.3, 0.2), LogitsOf(0, 0, 1));
        const int trials = 20_000;
        var counts = Outcomes(Full, logits, [1], null, trials);
        AssertMatches(counts, new()
        {
            [new(1, 2, true)] = 0.3,
            [new(0, 0, false)] = 0.7 * 5 / 7,
            [new(0, 2, false)] = 0.7 * 2 / 7,
        }, trials);
    }

    [Fact]
    public void ADraftTokenThatTopKRemovesIsAlwaysRejected()
    {
        // Raw p = [0.5, 0.2, 0.19, 0.11]; top-2 keeps {0, 1}: p = [5/7, 2/7, 0, 0], so x = 2 (q(2) = 0.8) never
        // stands. Residual max(0, p − q) with q = [0.1, 0.1, 0.8, 0]: [0.614, 0.186, 0, 0] / 0.8.
        float[] logits = Rows(LogitsOf(0.5, 0.2, 0.19, 0.11), LogitsOf(1, 0, 0, 0));
        float[] q = [.. Probs(0.1, 0.1, 0.8, 0), .. Probs(1, 0, 0, 0)];
        const int trials = 10_000;
        var counts = Outcomes(Full with { TopK = 2 }, logits, [2], q, trials);
        double r0 = 5.0 / 7 - 0.1, r1 = 2.0 / 7 - 0.1;
        AssertMatches(counts, new() { [new(0, 0, false)] = r0 / (r0 + r1), [new(0, 1, false)] = r1 / (r0 + r1) }, trials);
    }

    [Fact]
    public void ADraftTokenThatTopPRemovesIsAlwaysRejectedEvenAsAPointMass()
    {
        // p = [0.6, 0.3, 0.1]; top-p 0.8 keeps {0, 1} (0.6 < 0.8 ≤ 0.9) → p = [2/3, 1/3, 0]; x = 2 never stands.
        float[] logits = Rows(LogitsOf(0.6, 0.3, 0.1), LogitsOf(1, 0, 0));
        const int trials = 10_000;
        var counts = Outcomes(Full with { TopP = 0.8f }, logits, [2], null, trials);
        AssertMatches(counts, new() { [new(0, 0, false)] = 2.0 / 3, [new(0, 1, false)] = 1.0 / 3 }, trials);
    }
}
