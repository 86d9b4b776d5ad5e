using System.Diagnostics;
using System.Runtime.CompilerServices;
using SpecDec.Model;

namespace SpecDec.Speculation;

/// <summary>
/// A model's measured forward cost by row count on this machine: <see cref="Relative"/>(n) is the time of one
/// forward of n rows over a warm cache divided by that of one row (c(1) = 1). A tree of n nodes costs c(n + 1)
/// to verify. On a CPU, where a forward streams the weights once for all rows, c grows slowly until the
/// matmuls become compute-bound; on a GPU it stays near 1 far longer. Tree sizes are chosen from it
/// (<see cref="TreeSizer"/>), so they follow the machine rather than a constant.
/// </summary>
public sealed class CostCurve
{
    private readonly double[] _relative; // [MaxRows + 1] c(n); index 0 unused

    /// <param name="milliseconds">Forward time of 1, 2, … rows (at least one entry); rows past the last cost as a straight-line extension.</param>
    public CostCurve(ReadOnlySpan<double> milliseconds)
    {
        if (milliseconds.IsEmpty || milliseconds[0] <= 0) throw new ArgumentException("need a positive time for one row", nameof(milliseconds));
        OneRowMs = milliseconds[0];
        _relative = new double[ForwardBatch.MaxRows + 1];
        // A larger forward is never cheaper: measurement noise would otherwise reward odd sizes. Nor does it cost
        // more than n one-row forwards, which would compute the same rows: a slower sample caught a stall of a
        // shared machine, and would price every draft out.
        int last = Math.Min(milliseconds.Length, ForwardBatch.MaxRows);
        _relative[1] = 1;
        for (int n = 2; n <= last; n++) _relative[n] = Math.Min(n, Math.Max(milliseconds[n - 1] / OneRowMs, _relative[n - 1]));
        double slope = last == 1 ? 1 : _relative[last] - _relative[last - 1];
        for (int n = last + 1; n <= ForwardBatch.MaxRows; n++) _relative[n] = Math.Min(n, _relative[n - 1] + slope);
    }

    /// <summary>A one-row forward shorter than this (a toy model's microseconds) gives a curve of timer noise.</summary>
    public const double MeasurableMs = 0.05;

    /// <summary>Time of a one-row forward, milliseconds.</summary>
    public double OneRowMs { get; }

    /// <summary>c(n): an n-row forward's time over a one-row forward's, n in 1..<see cref="ForwardBatch.MaxRows"/>.</summary>
    public double Relative(int rows) => _relative[Math.Clamp(rows, 1, ForwardBatch.MaxRows)];

    private static readonly ConditionalWeakTable<ILanguageModel, CostCurve> Shared = new();

    /// <summary>
    /// The curve of <paramref name="model"/> up to <paramref name="maxRows"/> rows, measured once per loaded model (a
    /// short run: 16 cached positions, 5 sweeps over the sizes), so every generator over it sizes its
    /// drafts by the same numbers and equal requests get equal statistics.
    /// </summary>
    public static CostCurve Of(ILanguageModel model, int maxRows) =>
        Shared.GetValue(model, m => Measure(m, context: 16, repeats: 5, maxRows: maxRows));

    /// <summary>The row counts <see cref="Measure"/> times; the others are interpolated.</summary>
    private static readonly int[] Sampled = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];

    /// <summary>
    /// Times forwards of <see cref="Sampled"/> row counts in <paramref name="repeats"/> sweeps (the median ratio to one row of each)
    /// after <paramref name="context"/> cached positions, in a throwaway cache, and interpolates between them.
    /// About 40 forwards: a fraction of a second for the bundled target on two cores. With
    /// <paramref name="logitsOfEveryRow"/> false only the last row's logits are asked for (a forward whose other rows
    /// only feed attention, as an EAGLE head's ancestors of its frontier).
    /// </summary>
    public static CostCurve Measure(ILanguageModel model, int context = 64, int repeats = 3, int maxRows = ForwardBatch.MaxRows,
        bool logitsOfEveryRow = true)
    {
        maxRows = Math.Min(maxRows, ForwardBatch.MaxRows);
        context = Math.Max(0, Math.Min(context, model.Config.ContextLength - maxRows));
        maxRows = Math.Min(maxRows, model.Config.ContextLength - context);
        if (maxRows < 1) throw new SpecDecException($"the model's context ({model.Config.ContextLength}) is too short to measure its forward cost");
        int width = Math.Max(context, maxRows);
        var tokens = new int[width];
        var positions = new int[width];
        for (int i = 0; i < width; i++) tokens[i] = (3 + 7 * i) % model.Config.VocabSize;
        var logits = new float[(long)maxRows * model.Config.LogitCount];
        var rowIndex = new int[maxRows];
        var features = model.Config.IsEagleHead ? new float[(long)width * model.Config.HiddenSize] : []; // an EAGLE head's second input
        for (int i = 0; i < maxRows; i++) rowIndex[i] = i;
        int hidden = model.Config.HiddenSize;
        ReadOnlySpan<float> Rows(int start, int rows) => features.Length == 0 ? default : features.AsSpan(start * hidden, rows * hidden);
        IKvCache cache = model.CreateCache(context + maxRows);
        try
        {
            if (context > 0)
            {
                for (int i = 0; i < context; i++) positions[i] = i;
                for (int at = 0; at < context; at += ForwardBatch.MaxRows)
                {
                    int rows = Math.Min(ForwardBatch.MaxRows, context - at);
                    model.Forward(new ForwardBatch { Tokens = tokens.AsSpan(at, rows), Positions = positions.AsSpan(at, rows), Features = Rows(at, rows) }, cache, logits);
                }
            }
            var sampled = Sampled.Where(n => n <= maxRows).ToArray(); // sampled[0] = 1
            var sweeps = new double[repeats][];
            // Each repeat sweeps every size in turn, and a size's cost is the median over sweeps of its time over
            // the same sweep's one-row time: on a shared machine a stall (another process taking the core) spoils
            // one sweep's ratios, not the median, and a load that slows a whole sweep slows both sides of its
            // ratios alike. The fastest one-row time sets the scale.
            for (int r = 0; r < repeats; r++)
            {
                sweeps[r] = new double[sampled.Length];
                for (int s = 0; s < sampled.Length; s++)
                {
                    int n = sampled[s];
                    for (int i = 0; i < n; i++) positions[i] = context + i;
                    cache.Rollback(context);
                    long start = Stopwatch.GetTimestamp();
                    // Every row's logits, as a verification forward computes them (or only the last row's).
                    model.Forward(new ForwardBatch
                    {
                        Tokens = tokens.AsSpan(0, n), Positions = positions.AsSpan(0, n), Features = Rows(0, n),
                        LogitRows = logitsOfEveryRow ? rowIndex.AsSpan(0, n) : default,
                    }, cache, logits);
                    sweeps[r][s] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
            }
            double one = sweeps.Min(t => t[0]);
            var times = new double[sampled.Length];
            for (int s = 0; s < sampled.Length; s++)
            {
                var ratios = sweeps.Select(t => t[s] / t[0]).Order().ToArray();
                int m = ratios.Length / 2;
                times[s] = one * (ratios.Length % 2 == 1 ? ratios[m] : (ratios[m - 1] + ratios[m]) / 2);
            }
            return new CostCurve(Interpolate(sampled, times));
        }
        finally
        {
            (cache as IDisposable)?.Dispose();
        }
    }

    /// <summary>Times for 1..last sampled rows, linear between the sampled counts.</summary>
    private static double[] Interpolate(int[] rows, double[] times)
    {
        var all = new double[rows[^1]];
        for (int s = 0; s < rows.Length; s++)
        {
            all[rows[s] - 1] = times[s];
            if (s == 0) continue;
            for (int n = rows[s - 1] + 1; n < rows[s]; n++)
                all[n - 1] = times[s - 1] + (times[s] - times[s - 1]) * (n - rows[s - 1]) / (rows[s] - rows[s - 1]);
        }
        return all;
    }
}
