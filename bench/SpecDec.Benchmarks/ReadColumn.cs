using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SpecDec.Benchmarks;

/// <summary>
/// "Read/op": the bytes one operation of an <see cref="IReadsMemory"/> benchmark reads; "GB/s": those bytes
/// over the mean time (10⁹ bytes per second, the unit `specdec perf` uses). "-" for other benchmarks.
/// </summary>
public sealed class ReadColumn : IColumn
{
    public static readonly IColumn BytesPerOperation = new ReadColumn(rate: false);
    public static readonly IColumn GigabytesPerSecond = new ReadColumn(rate: true);

    readonly bool _rate;

    ReadColumn(bool rate) => _rate = rate;

    public string Id => nameof(ReadColumn) + ColumnName;
    public string ColumnName => _rate ? "GB/s" : "Read/op";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => _rate ? 1 : 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => _rate
        ? "Read/op divided by the mean time, in 10⁹ bytes per second"
        : "Bytes one operation reads (kB = 10³, MB = 10⁶ bytes)";

    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (BytesRead(benchmarkCase) is not { } bytes) return "-";
        if (!_rate) return bytes >= 1_000_000 ? Format(bytes / 1e6, "MB") : Format(bytes / 1e3, "kB");
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        return meanNs is > 0 ? (bytes / meanNs.Value).ToString("F1", CultureInfo.InvariantCulture) : "NA";
    }

    static string Format(double value, string unit) => value.ToString(value < 10 ? "F2" : "F1", CultureInfo.InvariantCulture) + " " + unit;

    static long? BytesRead(BenchmarkCase benchmarkCase)
    {
        Type type = benchmarkCase.Descriptor.Type;
        if (!typeof(IReadsMemory).IsAssignableFrom(type)) return null;
        var benchmark = (IReadsMemory)Activator.CreateInstance(type)!;
        foreach (var parameter in benchmarkCase.Parameters.Items)
            type.GetProperty(parameter.Name)!.SetValue(benchmark, parameter.Value);
        return benchmark.BytesReadPerOperation;
    }
}
