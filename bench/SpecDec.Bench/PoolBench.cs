using SpecDec.Kernels;

namespace SpecDec.Bench;

/// <summary>The fixed cost of one dispatch: a parallel-for whose items do nothing.</summary>
internal static class PoolBench
{
    struct Nothing : IParallelJob
    {
        public void Execute(int index, int thread) { }
    }

    public static void Run(int threads)
    {
        using var pool = new WorkerPool(threads);
        foreach (int items in new[] { 2, 16, 64 })
        {
            double t = Bench.Fastest(() =>
            {
                for (int i = 0; i < 1000; i++) pool.For(items, new Nothing());
            }) / 1000;
            Console.WriteLine($"{pool.ThreadCount} threads, {items} empty items: {t * 1e6:F2} µs per dispatch");
        }
    }
}
