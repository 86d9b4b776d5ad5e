namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// Everything a benchmark run concluded (summary.json): the machine, models and settings it ran with, each
/// method × category's metrics, and the lossless verdict. Two of these are what <c>--compare</c> reads.
/// </summary>
public sealed record BenchSummary
{
    /// <summary>Bumped when a field changes meaning.</summary>
    public int SchemaVersion { get; init; } = 1;

    public required BenchRunInfo Run { get; init; }
    public required MachineInfo Machine { get; init; }
    public required IReadOnlyList<ModelInfo> Models { get; init; }
    public required IReadOnlyList<BenchMethodInfo> Methods { get; init; }

    /// <summary>Categories in table order (without <see cref="BenchMetrics.Overall"/>).</summary>
    public required IReadOnlyList<string> Categories { get; init; }

    public required IReadOnlyList<MethodMetrics> Results { get; init; }

    /// <summary>Items left out of every metric because their prompt does not fit the model's context.</summary>
    public required IReadOnlyList<string> LeftOut { get; init; }
    public required LosslessVerdict Lossless { get; init; }

    /// <summary>
    /// Concludes a run: the metrics of every method on the categories that have records (in
    /// <paramref name="categoryOrder"/>), and the lossless check when it decoded greedily.
    /// </summary>
    public static BenchSummary From(BenchRunInfo run, MachineInfo machine, IReadOnlyList<ModelInfo> models,
        IReadOnlyList<BenchMethod> methods, IReadOnlyList<string> categoryOrder, IReadOnlyList<BenchRecord> records)
    {
        var categories = categoryOrder.Where(c => records.Any(r => r.Category == c)).ToArray();
        return new BenchSummary
        {
            Run = run,
            Machine = machine,
            Models = models,
            Methods = methods.Select(BenchMethodInfo.From).ToArray(),
            Categories = categories,
            Results = BenchMetrics.Compute(records, methods.Select(m => m.Name).ToArray(), categories),
            LeftOut = records.Where(r => r.Turns.Count == 0).Select(r => r.ItemId).Distinct().ToArray(),
            Lossless = run.Temperature == 0
                ? LosslessChecker.Check(records)
                : LosslessVerdict.NotChecked($"temperature {run.Temperature}: sampled outputs differ by design; the check needs greedy decoding"),
        };
    }

    /// <summary>The metrics of a method on a category, or null when it did not run there.</summary>
    public MethodMetrics? Find(string method, string category) =>
        Results.FirstOrDefault(r => r.Method == method && r.Category == category);
}
