using SpecDec.Model;

namespace SpecDec.Speculation;

/// <summary>
/// A verification cost curve learned from the rounds a proposer actually times. It starts from a measured sweep
/// (<see cref="CostCurve"/>: its c(n) times its one-row time) and moves each row count's time a tenth of the way to
/// every round of that count (exponentially weighted), so its prices follow the machine's load as it is now, not as
/// it was during the first request's sweep (on a shared machine that sweep can catch a stall or a quiet moment).
/// A count never timed keeps the sweep's shape, scaled by how much slower or faster the timed rounds ran than the
/// sweep said (the same weighting over all rounds). As <see cref="CostCurve"/>, c(n) never falls as n grows and never
/// exceeds n.
/// Example: swept 1.0 ms for one row, 1.2 ms for five; five-row rounds then take 2.4 ms: c(5) moves toward 2.4 / 1.0
/// and an untimed c(1) toward 2.0 ms (the scale), so c(5) settles near 1.2 again if one-row rounds take 2.0 ms too.
/// </summary>
public sealed class LearnedCostCurve
{
    /// <summary>Weight of one round in a row count's time.</summary>
    public const double Rate = 0.1;

    /// <summary>A round timed slower than this many times the estimate counts as this much: a stall of a shared machine, not the load.</summary>
    public const double MaxJump = 2;

    private readonly double[] _swept;    // [MaxRows + 1] the sweep's time of n rows, ms; index 0 unused
    private readonly double[] _learned;  // [MaxRows + 1] n rows' learned time, ms, or 0 while none was timed
    private readonly double[] _relative; // [MaxRows + 1] c(n) from the above
    private double _scale = 1;           // timed rounds over the sweep's times

    /// <summary>Whether <see cref="Observe"/> learns: false for a curve that is not this machine's timing (a model of one).</summary>
    public bool Learns { get; }

    /// <param name="learns">False: <see cref="Observe"/> is ignored (a curve that is not this machine's timing).</param>
    public LearnedCostCurve(CostCurve swept, bool learns = true)
    {
        Learns = learns;
        _swept = new double[ForwardBatch.MaxRows + 1];
        _learned = new double[ForwardBatch.MaxRows + 1];
        _relative = new double[ForwardBatch.MaxRows + 1];
        for (int n = 1; n <= ForwardBatch.MaxRows; n++) _swept[n] = swept.Relative(n) * swept.OneRowMs;
        Update();
    }

    /// <summary>
    /// The target's swept curve (<see cref="CostCurve.Of"/>); for a model too small to time (a test's toy, microseconds a
    /// forward) each row past the first costs a sixth of a forward, about what a verified row costs the bundled target
    /// on two cores.
    /// </summary>
    public static LearnedCostCurve For(ILanguageModel target)
    {
        var measured = CostCurve.Of(target, SpeculationOptions.MaxVerifyRows);
        return measured.OneRowMs >= CostCurve.MeasurableMs ? new LearnedCostCurve(measured)
            : new LearnedCostCurve(new CostCurve(Enumerable.Range(0, 8).Select(n => 1 + n / 6.0).ToArray()), learns: false);
    }

    /// <summary>c(n): an n-row round's time over a one-row round's.</summary>
    public double Relative(int rows) => _relative[Math.Clamp(rows, 1, ForwardBatch.MaxRows)];

    /// <summary>A one-row round's time now, milliseconds.</summary>
    public double OneRowMs => Milliseconds(1);

    /// <summary>A round of <paramref name="rows"/> rows took <paramref name="ms"/> milliseconds.</summary>
    public void Observe(int rows, double ms)
    {
        if (!Learns || rows < 1 || rows > ForwardBatch.MaxRows || !(ms > 0)) return;
        double expected = Milliseconds(rows);
        ms = Math.Min(ms, MaxJump * expected);
        _learned[rows] = expected + Rate * (ms - expected); // a count's first round moves it from the scaled sweep
        _scale += Rate * (ms / _swept[rows] - _scale);
        Update();
    }

    private double Milliseconds(int rows) => _learned[rows] > 0 ? _learned[rows] : _scale * _swept[rows];

    private void Update()
    {
        double one = Milliseconds(1);
        _relative[1] = 1;
        for (int n = 2; n <= ForwardBatch.MaxRows; n++)
            _relative[n] = Math.Min(n, Math.Max(_relative[n - 1], Milliseconds(n) / one));
    }
}
