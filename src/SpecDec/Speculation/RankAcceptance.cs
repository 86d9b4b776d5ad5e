namespace SpecDec.Speculation;

/// <summary>
/// How often the candidate of each rank is the one that stands, per depth: a[d][r] = P(the r-th best
/// candidate below a node at depth d − 1 is accepted | that node was reached). Candidates of one parent
/// exclude each other, so a tree's expected accepted length is Σ over its nodes of the product of a along the
/// node's path (Sequoia's positional acceptance vector, kept per depth because a head predicting further ahead
/// is less sure). Starts from a prior worth <see cref="PriorWeight"/> observations and learns from every round.
/// </summary>
public sealed class RankAcceptance
{
    /// <summary>Observations the prior counts as.</summary>
    public const double PriorWeight = 8;

    private readonly double[] _hits;  // [depths × ranks] rounds in which rank r stood at depth d
    private readonly double[] _tries; // [depths × ranks] rounds in which the parent was reached and had a rank-r child

    /// <param name="prior">a[d][r] before any observation: [depths × ranks], row d − 1 for depth d.</param>
    public RankAcceptance(int depths, int ranks, Func<int, int, double> prior)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depths, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ranks, 1);
        Depths = depths;
        Ranks = ranks;
        _hits = new double[depths * ranks];
        _tries = new double[depths * ranks];
        for (int d = 0; d < depths; d++)
            for (int r = 0; r < ranks; r++)
            {
                _hits[d * ranks + r] = PriorWeight * Math.Clamp(prior(d + 1, r), 0, 1);
                _tries[d * ranks + r] = PriorWeight;
            }
    }

    /// <summary>
    /// A prior that falls geometrically with depth and rank: the best candidate stands with
    /// p = first · depthDecay^(d−1); the rest, 1 − p, is shared by the lower ranks as (1 − rankShare) ·
    /// rankShare^(r−1), so one parent's ranks never sum past 1.
    /// </summary>
    public static RankAcceptance Geometric(int depths, int ranks, double first, double depthDecay, double rankShare) =>
        new(depths, ranks, (d, r) =>
        {
            double p = first * Math.Pow(depthDecay, d - 1);
            return r == 0 ? p : (1 - p) * (1 - rankShare) * Math.Pow(rankShare, r - 1);
        });

    public int Depths { get; }
    public int Ranks { get; }

    /// <summary>a[depth][rank] (depth ≥ 1, rank ≥ 0); 0 outside the table.</summary>
    public double At(int depth, int rank) =>
        depth < 1 || depth > Depths || rank < 0 || rank >= Ranks ? 0 : _hits[(depth - 1) * Ranks + rank] / _tries[(depth - 1) * Ranks + rank];

    /// <summary>
    /// A parent at depth <paramref name="depth"/> − 1 was reached and had <paramref name="children"/> ranked
    /// children; the one of rank <paramref name="accepted"/> stood (-1: none did).
    /// </summary>
    public void Observe(int depth, int children, int accepted)
    {
        if (depth < 1 || depth > Depths) return;
        int row = (depth - 1) * Ranks;
        for (int r = 0; r < Math.Min(children, Ranks); r++)
        {
            _tries[row + r]++;
            if (r == accepted) _hits[row + r]++;
        }
    }
}
