namespace SpecDec.Speculation;

/// <summary>
/// How many tokens to draft next round. Rule (Hugging Face's "heuristic" schedule for assistant models):
/// a round whose whole draft was accepted suggests the drafter is in an easy stretch, so draft 2 more next
/// time; any rejection means tokens past it were wasted work, so draft 1 fewer. Additive increase, gentle
/// decrease: the length follows acceptance within a few rounds without oscillating, bounded by
/// [min, max]. With min = max it never changes.
/// <para>
/// Given the target's measured verification cost curve c (<see cref="CostCurve"/>), the length is also capped
/// by the one that maximises expected tokens per unit of time, (1 − α^(k+1)) / ((1 − α)·(c(k+1) + k·d)) (Leviathan
/// et al. 2023), with α the acceptance rate learned so far and d a draft token's cost in one-row target forwards.
/// Where verifying more rows costs more — a mixture of experts, whose k rows touch up to k × top-k experts, or a
/// compute-bound machine — the cap falls; where c stays flat it is max.
/// </para>
/// </summary>
public sealed class DraftLengthController
{
    private readonly int _min;
    private readonly int _max;
    private readonly CostCurve? _cost;
    private readonly double _draftCost;
    private int _heuristic;
    private long _accepted, _rejections;

    /// <param name="cost">The target's verification cost curve, or null for the heuristic alone.</param>
    /// <param name="draftCost">One drafted token's cost in one-row target forwards (0 for model-free drafts).</param>
    public DraftLengthController(int min, int max, CostCurve? cost = null, double draftCost = 0)
    {
        if (min < 1 || max < min) throw new ArgumentOutOfRangeException(nameof(min), $"need 1 ≤ min ≤ max (got {min}, {max})");
        _min = min;
        _max = max;
        _cost = cost;
        _draftCost = Math.Max(0, draftCost);
        _heuristic = max;
        Current = cost is null ? max : Math.Min(max, Best());
    }

    /// <summary>The draft length for the next round.</summary>
    public int Current { get; private set; }

    /// <summary>The acceptance rate the cost cap assumes: accepted tokens over tokens tried, with a prior of 0.8 worth 4 tokens.</summary>
    public double Acceptance => (_accepted + PriorWeight * PriorAcceptance) / (_accepted + _rejections + PriorWeight);

    private const double PriorAcceptance = 0.8, PriorWeight = 4;

    /// <summary>Learns from a round that drafted <paramref name="drafted"/> tokens and kept <paramref name="accepted"/>.</summary>
    public void Observe(int drafted, int accepted)
    {
        if (drafted == 0) return; // nothing proposed (no match, low confidence): no evidence either way
        _heuristic = accepted == drafted ? Math.Min(_max, _heuristic + 2) : Math.Max(_min, _heuristic - 1);
        _accepted += accepted;
        if (accepted < drafted) _rejections++;
        Current = _cost is null ? _heuristic : Math.Min(_heuristic, Best());
    }

    /// <summary>The length in [min, max] with the most expected tokens per unit of verification and drafting time.</summary>
    private int Best()
    {
        double a = Math.Min(Acceptance, 1 - 1e-9);
        int best = _min;
        double bestRate = 0;
        for (int k = _min; k <= _max; k++)
        {
            double rate = (1 - Math.Pow(a, k + 1)) / ((1 - a) * (_cost!.Relative(k + 1) + k * _draftCost));
            if (rate > bestRate)
            {
                bestRate = rate;
                best = k;
            }
        }
        return best;
    }
}
