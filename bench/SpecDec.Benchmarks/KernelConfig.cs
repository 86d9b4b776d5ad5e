using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace SpecDec.Benchmarks;

/// <summary>
/// BenchmarkDotNet's defaults plus the bytes each operation reads and the GB/s that makes, and allocations
/// per operation (the kernels promise none).
/// </summary>
public sealed class KernelConfig : ManualConfig
{
    public KernelConfig()
    {
        Add(DefaultConfig.Instance);
        AddColumn(ReadColumn.BytesPerOperation, ReadColumn.GigabytesPerSecond);
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
