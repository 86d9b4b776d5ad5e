using SpecDec.Formats;
using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Kernels.Quant;

namespace SpecDec.Bench;

/// <summary>Matmul throughput on a weight bigger than the caches: GB/s at T = 1 and the cost of T rows vs one.</summary>
internal static unsafe class MatmulBench
{
    public static void Run(int threads, int n, int k)
    {
        using var pool = new WorkerPool(threads);
        using var workspace = new MatmulWorkspace(64, k, pool.ThreadCount);
        var rng = new Random(1);
        using var x = new NativeBuffer<float>(64 * k);
        for (int i = 0; i < x.Length; i++) x.Span[i] = (float)(rng.NextDouble() * 2 - 1);
        using var y = new NativeBuffer<float>(64L * n);
        var row = new float[k];
        Console.WriteLine($"read bandwidth ({pool.ThreadCount} threads): {BandwidthBench.Measure(pool):F1} GB/s");
        foreach (GgmlType type in new[] { GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q4_0, GgmlType.F16, GgmlType.BF16, GgmlType.F32 })
        {
            long rowBytes = GgmlTypeInfo.ByteCount(type, k);
            using var w = new NativeBuffer<byte>(rowBytes * n);
            for (int r = 0; r < n; r++)
            {
                for (int i = 0; i < k; i++) row[i] = (float)(rng.NextDouble() * 2 - 1);
                WeightQuantizer.Row(type, row, w.Span.Slice((int)(r * rowBytes), (int)rowBytes));
            }
            var weight = new LinearWeight(type, w.Pointer, n, k);
            double t1 = Bench.Fastest(() => Matmul.Run(pool, workspace, x.Pointer, 1, Simd.Best, new MatmulPart(weight, y.Pointer)));
            Console.Write($"{type,-5} N={n} K={k} {w.Length / 1e6:F1} MB  T=1 {t1 * 1e3:F3} ms {w.Length / t1 / 1e9:F1} GB/s |");
            foreach (int t in new[] { 2, 4, 8, 16, 64 })
            {
                double tt = Bench.Fastest(() => Matmul.Run(pool, workspace, x.Pointer, t, Simd.Best, new MatmulPart(weight, y.Pointer)));
                Console.Write($" c({t})={tt / t1:F2}");
            }
            Console.WriteLine();
        }
    }
}
