namespace SpecDec.Speculation;

/// <summary>
/// The per-level acceptance α of one kind of proposal (auto's sources, each split by how long a match found
/// it), learned from the rounds that drafted with it: each accepted token is a success, a rejection before the
/// draft's end a failure, so a chain of depth k is expected to yield (1 − α^(k+1)) / (1 − α) tokens with the
/// correction or bonus (Leviathan et al. 2023). Totals are discounted per observation so the estimate follows
/// a workload that changes (a copy-heavy edit after free prose), and start from a prior (by default 0.5, worth two
/// tried tokens).
/// <see cref="Optimistic"/> adds a UCB bonus so that a source judged poor early is tried again now and then.
/// Example: rounds (depth 4, accepted 4) and (depth 4, accepted 1) → 5 successes, 1 failure, α ≈ (5 + 1) / (6 + 2).
/// </summary>
internal sealed class AcceptanceEstimate
{
    private const double BonusScale = 0.15;

    private readonly double _discount, _prior, _priorWeight;
    private double _accepted, _tried, _rounds;

    /// <param name="discount">Weight kept by the totals per observation: 0.97 remembers about 30 rounds, 0.9 about 10.</param>
    /// <param name="prior">α assumed before any round, worth <paramref name="priorWeight"/> tried tokens.</param>
    public AcceptanceEstimate(double discount = 0.97, double prior = 0.5, double priorWeight = 2)
    {
        if (!(discount > 0 && discount <= 1)) throw new ArgumentOutOfRangeException(nameof(discount), discount, "must be in (0, 1]");
        if (!(prior >= 0 && prior <= 1 && priorWeight > 0)) throw new ArgumentOutOfRangeException(nameof(prior), prior, "need a prior in [0, 1] with a positive weight");
        (_discount, _prior, _priorWeight) = (discount, prior, priorWeight);
    }

    /// <summary>Discounted rounds observed.</summary>
    public double Rounds => _rounds;

    /// <summary>Estimated probability that a drafted token stands, given that its parent did.</summary>
    public double Alpha => (_accepted + _priorWeight * _prior) / (_tried + _priorWeight);

    /// <summary>α plus a bonus that shrinks with this estimate's rounds against <paramref name="totalRounds"/> of all.</summary>
    public double Optimistic(long totalRounds) =>
        Math.Min(0.98, Alpha + BonusScale * Math.Sqrt(Math.Log(1 + totalRounds) / (1 + _rounds)));

    /// <summary>A round that drafted <paramref name="depth"/> levels and kept <paramref name="accepted"/> of them.</summary>
    public void Observe(int depth, int accepted)
    {
        if (depth == 0) return; // nothing was proposed: no evidence
        _accepted = _accepted * _discount + accepted;
        _tried = _tried * _discount + accepted + (accepted < depth ? 1 : 0);
        _rounds = _rounds * _discount + 1;
    }

    /// <summary>
    /// Keeps <paramref name="factor"/> of the evidence, so α drifts back toward the prior: for a source that was not
    /// chosen this round, whose record grows stale as the text moves on (and would otherwise keep it unchosen).
    /// </summary>
    public void Fade(double factor)
    {
        _accepted *= factor;
        _tried *= factor;
        _rounds *= factor;
    }

    public void Clear() => _accepted = _tried = _rounds = 0;

    /// <summary>Match lengths are grouped as 2, 3, 4–5, 6–9, 10+ tokens (1 for pld's unigram setting): a 2-token match in free
    /// prose rarely holds, a 12-token match in an edited file almost always does, so copies learn α per group.</summary>
    public const int MatchBuckets = 5;

    /// <summary>The group of a match of <paramref name="length"/> tokens.</summary>
    public static int MatchBucket(int length) => length switch
    {
        <= 2 => 0,
        3 => 1,
        <= 5 => 2,
        <= 9 => 3,
        _ => 4,
    };

    /// <summary>One estimate per match-length group, default prior.</summary>
    public static AcceptanceEstimate[] PerMatchBucket() => Enumerable.Range(0, MatchBuckets).Select(_ => new AcceptanceEstimate()).ToArray();

    /// <summary>Tokens a round yields on average from a chain (or tree) <paramref name="depth"/> deep: 1 + α + … + α^depth.</summary>
    public static double ExpectedTokens(double alpha, int depth) =>
        alpha >= 1 ? depth + 1 : (1 - Math.Pow(alpha, depth + 1)) / (1 - alpha);
}
