using BenchmarkDotNet.Attributes;
using SpecDec.Kernels;
using SpecDec.Tools.Benchmarking;

namespace SpecDec.Benchmarks;

/// <summary>
/// The machine's read bandwidth as `specdec perf` measures it (<see cref="MemoryBandwidth"/>): all cores sum
/// 1 GiB. Its GB/s column is the ceiling for the matmul rows' GB/s.
/// </summary>
public class MemoryBandwidthBenchmark : IReadsMemory
{
    WorkerPool _pool = null!;
    MemoryBandwidth _memory = null!;

    public long BytesReadPerOperation => MemoryBandwidth.DefaultBytes;

    [GlobalSetup]
    public void Setup()
    {
        _pool = new WorkerPool();
        _memory = new MemoryBandwidth(_pool);
    }

    [Benchmark]
    public float ReadBandwidth() => _memory.ReadOnce();

    [GlobalCleanup]
    public void Cleanup()
    {
        _memory.Dispose();
        _pool.Dispose();
    }
}
