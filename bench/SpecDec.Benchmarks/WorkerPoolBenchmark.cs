using BenchmarkDotNet.Attributes;
using SpecDec.Kernels;

namespace SpecDec.Benchmarks;

/// <summary>
/// The fixed cost of one parallel dispatch of 16 empty items: what every kernel call pays on top of its work,
/// several times per layer of a forward pass. All cores.
/// </summary>
public class WorkerPoolBenchmark
{
    WorkerPool _pool = null!;

    [GlobalSetup]
    public void Setup() => _pool = new WorkerPool();

    [Benchmark]
    public void Dispatch() => _pool.For(16, new Nothing());

    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    struct Nothing : IParallelJob
    {
        public void Execute(int index, int thread) { }
    }
}
