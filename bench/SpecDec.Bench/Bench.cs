using System.Diagnostics;

namespace SpecDec.Bench;

internal static class Bench
{
    /// <summary>
    /// When set, time is this process's CPU time per call (averaged over ≥ 0.3 s of calls) instead of the
    /// fastest wall-clock call: on a shared, oversubscribed machine only CPU time says what a kernel costs.
    /// Meaningful with one thread (otherwise it sums the threads).
    /// </summary>
    public static bool CpuTime { get; set; }

    /// <summary>Seconds per call: the fastest of 21 timed calls (5 for calls over 0.2 s) after warm-up, or the mean CPU time.</summary>
    public static double Fastest(Action run)
    {
        long warm = Stopwatch.GetTimestamp();
        for (int i = 0; i < 2; i++) run();
        int samples = Stopwatch.GetElapsedTime(warm).TotalSeconds > 0.4 ? 5 : 21;
        if (CpuTime)
        {
            var process = Process.GetCurrentProcess();
            process.Refresh();
            TimeSpan cpu0 = process.TotalProcessorTime;
            long wall0 = Stopwatch.GetTimestamp();
            int calls = 0;
            do
            {
                run();
                calls++;
            } while (Stopwatch.GetElapsedTime(wall0).TotalSeconds < 0.3 || calls < 5);
            process.Refresh();
            return (process.TotalProcessorTime - cpu0).TotalSeconds / calls;
        }
        double best = double.MaxValue;
        for (int s = 0; s < samples; s++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return best;
    }
}
