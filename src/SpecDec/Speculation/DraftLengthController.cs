namespace SpecDec.Speculation;

/// <summary>
/// How many tokens to draft next round. Rule (Hugging Face's "heuristic" schedule for assistant models):
/// a round whose whole draft was accepted suggests the drafter is in an easy stretch, so draft 2 more next
/// time; any rejection means tokens past it were wasted work, so draft 1 fewer. Additive increase, gentle
/// decrease: the length follows acceptance within a few rounds without oscillating, bounded by
/// [min, max]. With min = max it never changes.
/// </summary>
public sealed class DraftLengthController
{
    private readonly int _min;
    private readonly int _max;

    public DraftLengthController(int min, int max)
    {
        if (min < 1 || max < min) throw new ArgumentOutOfRangeException(nameof(min), $"need 1 ≤ min ≤ max (got {min}, {max})");
        _min = min;
        _max = max;
        Current = max;
    }

    /// <summary>The draft length for the next round.</summary>
    public int Current { get; private set; }

    /// <summary>Learns from a round that drafted <paramref name="drafted"/> tokens and kept <paramref name="accepted"/>.</summary>
    public void Observe(int drafted, int accepted)
    {
        if (drafted == 0) return; // nothing proposed (no match, low confidence): no evidence either way
        Current = accepted == drafted ? Math.Min(_max, Current + 2) : Math.Max(_min, Current - 1);
    }
}
