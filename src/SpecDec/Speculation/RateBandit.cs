namespace SpecDec.Speculation;

/// <summary>
/// Chooses among arms (speculation methods, layer sets) by the rate each delivers, measured: tokens
/// committed per second of wall time. Each pull lasts <see cref="PullRounds"/> rounds; an arm never tried
/// is tried first, then UCB1 on rates relative to the best seen, with every arm's totals discounted by
/// <see cref="Discount"/> per pull so the choice follows a workload that changes (a request that stops
/// repeating its prompt). Rates carry over from request to request.
/// Example: arms A (200 tok/s) and B (300 tok/s): after one pull each, B is pulled, and A again only when
/// its bonus √(2 ln N / n_A) outweighs its deficit of 1/3. A pull may span requests (short answers have fewer
/// rounds than a pull).
/// </summary>
internal sealed class RateBandit
{
    public const int PullRounds = 8;
    public const double Discount = 0.9;

    private readonly double[] _tokens;   // [arms] discounted tokens committed
    private readonly double[] _seconds;  // [arms] discounted wall time
    private readonly double[] _pulls;    // [arms] discounted pulls
    private readonly bool[] _excluded;   // [arms] never pulled
    private double _pullTokens, _pullSeconds;
    private int _roundsInPull;

    public RateBandit(int arms)
    {
        _tokens = new double[arms];
        _seconds = new double[arms];
        _pulls = new double[arms];
        _excluded = new bool[arms];
    }

    /// <summary>Never pulls <paramref name="arm"/> again (arm 0, the first pulled, cannot be excluded).</summary>
    public void Exclude(int arm)
    {
        if (arm > 0) _excluded[arm] = true;
    }

    /// <summary>The arm being pulled.</summary>
    public int Current { get; private set; }

    /// <summary>Times the current arm changed.</summary>
    public long Switches { get; private set; }

    /// <summary>The measured rate of <paramref name="arm"/> in tokens per second; 0 before it was tried.</summary>
    public double Rate(int arm) => _seconds[arm] > 0 ? _tokens[arm] / _seconds[arm] : 0;

    /// <summary>One round of the current arm: <paramref name="tokens"/> committed in <paramref name="seconds"/>.</summary>
    public void Observe(int tokens, double seconds)
    {
        _pullTokens += tokens;
        _pullSeconds += seconds;
        if (++_roundsInPull < PullRounds) return;
        for (int a = 0; a < _pulls.Length; a++)
        {
            _tokens[a] *= Discount;
            _seconds[a] *= Discount;
            _pulls[a] *= Discount;
        }
        _tokens[Current] += _pullTokens;
        _seconds[Current] += _pullSeconds;
        _pulls[Current] += 1;
        _pullTokens = _pullSeconds = 0;
        _roundsInPull = 0;
        int next = Choose();
        if (next != Current) Switches++;
        Current = next;
    }

    private int Choose()
    {
        for (int a = 0; a < _pulls.Length; a++)
            if (_pulls[a] == 0 && !_excluded[a]) return a;
        double best = 0, total = 0;
        for (int a = 0; a < _pulls.Length; a++)
        {
            if (_excluded[a]) continue;
            best = Math.Max(best, Rate(a));
            total += _pulls[a];
        }
        int choice = Current;
        double score = double.NegativeInfinity;
        for (int a = 0; a < _pulls.Length; a++)
        {
            if (_excluded[a]) continue;
            double s = Rate(a) / best + Math.Sqrt(2 * Math.Log(total) / _pulls[a]) * 0.25;
            if (s > score)
            {
                score = s;
                choice = a;
            }
        }
        return choice;
    }
}
