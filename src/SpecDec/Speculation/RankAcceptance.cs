namespace SpecDec.Speculation;

/// <summary>
/// How often the candidate of each rank is the one that stands, per depth: a[d][r] = P(the r-th best
/// candidate below a node at depth d − 1 is accepted | that node was reached). Candidates of one parent
/// exclude each other, so a tree's expected accepted length is Σ over its nodes of the product of a along the
/// node's path (Sequoia's positional acceptance vector, kept per depth because a head predicting further ahead
/// is less sure). Each entry is its observations plus a prior worth <see cref="PriorWeight"/> of them; below
/// depth 1 the prior is the estimate one level up times <see cref="DepthDecay"/>, so what a shallow tree learns
/// carries to depths it has not tried yet (otherwise a tree sized small would never learn that deeper pays).
/// </summary>
public sealed class RankAcceptance
{
    /// <summary>Observations the prior counts as.</summary>
    public const double PriorWeight = 8;

    private readonly double[] _first;   // [ranks] prior of depth 1
    private readonly double[] _hits;    // [depths × ranks] rounds in which rank r stood at depth d
    private readonly double[] _tries;   // [depths × ranks] rounds in which the parent was reached and had a rank-r child
    private readonly double[] _at;      // [depths × ranks] the current estimates

    /// <param name="first">a[1][r] before any observation, by rank.</param>
    /// <param name="depthDecay">The prior of depth d + 1 relative to the estimate at depth d.</param>
    public RankAcceptance(int depths, ReadOnlySpan<double> first, double depthDecay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depths, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(first.Length, 1);
        Depths = depths;
        Ranks = first.Length;
        DepthDecay = depthDecay;
        _first = first.ToArray();
        _hits = new double[depths * Ranks];
        _tries = new double[depths * Ranks];
        _at = new double[depths * Ranks];
        Update();
    }

    /// <summary>
    /// A prior that falls geometrically with depth and rank: the best candidate at depth 1 stands with
    /// <paramref name="first"/>; the rest, 1 − first, is shared by the lower ranks as (1 − rankShare) · rankShare^(r−1),
    /// so one parent's ranks never sum past 1.
    /// </summary>
    public static RankAcceptance Geometric(int depths, int ranks, double first, double depthDecay, double rankShare)
    {
        var prior = new double[ranks];
        for (int r = 0; r < ranks; r++) prior[r] = r == 0 ? first : (1 - first) * (1 - rankShare) * Math.Pow(rankShare, r - 1);
        return new RankAcceptance(depths, prior, depthDecay);
    }

    public int Depths { get; }
    public int Ranks { get; }
    public double DepthDecay { get; }

    /// <summary>a[depth][rank] (depth ≥ 1, rank ≥ 0); 0 outside the table.</summary>
    public double At(int depth, int rank) =>
        depth < 1 || depth > Depths || rank < 0 || rank >= Ranks ? 0 : _at[(depth - 1) * Ranks + rank];

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
        Update();
    }

    private void Update()
    {
        for (int d = 0; d < Depths; d++)
            for (int r = 0; r < Ranks; r++)
            {
                double prior = d == 0 ? _first[r] : _at[(d - 1) * Ranks + r] * DepthDecay;
                int i = d * Ranks + r;
                _at[i] = (_hits[i] + PriorWeight * Math.Clamp(prior, 0, 1)) / (_tries[i] + PriorWeight);
            }
    }
}
