using System.Diagnostics;

namespace SpecDec.Bench;

internal static class Bench
{
    /// <summary>Seconds of the fastest of 21 timed calls after warm-up: the least disturbed run on a shared machine.</summary>
    public static double Fastest(Action run)
    {
        for (int i = 0; i < 3; i++) run();
        double best = double.MaxValue;
        for (int s = 0; s < 21; s++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return best;
    }
}
