namespace SpecDec.ServeBench;

/// <summary>Small helpers the three commands share.</summary>
internal static class Machine
{
    /// <summary>The 1, 5 and 15 minute load averages: figures taken on a loaded machine are only sanity checks.</summary>
    public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
