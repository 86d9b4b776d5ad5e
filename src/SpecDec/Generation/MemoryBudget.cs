using System.Globalization;

namespace SpecDec.Generation;

/// <summary>
/// Refuses work whose memory would not fit, before anything is allocated: one clear error where the process
/// would otherwise die of "Out of memory" halfway through (or be killed by the kernel).
/// </summary>
public static class MemoryBudget
{
    /// <summary>
    /// Bytes this process may still take: the machine's (or the container's) memory limit less what the
    /// process already holds (its working set: runtime, buffers and the mapped weights it has touched).
    /// </summary>
    public static long Available() =>
        Math.Max(0, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - Environment.WorkingSet);

    /// <summary>
    /// Throws a <see cref="SpecDecException"/> when <paramref name="bytes"/> needed for <paramref name="what"/>
    /// exceed <paramref name="max"/> (null: <see cref="Available"/>).
    /// </summary>
    public static void Check(long bytes, string what, long? max)
    {
        long budget = max ?? Available();
        if (bytes <= budget) return;
        string limit = max is null ? "this machine has left" : "the memory limit allows (--max-memory)";
        throw new SpecDecException($"{what} needs {Gigabytes(bytes)} but {limit} is {Gigabytes(budget)}");
    }

    private static string Gigabytes(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:0.###} GB");
}
