using System.Diagnostics;
using System.Runtime.Intrinsics;
using SpecDec.Kernels;

namespace SpecDec.Cli.Perf;

/// <summary>
/// The machine's read bandwidth, the bound decode speed is judged against: every pool thread sums its share
/// of a 1 GiB buffer (far beyond any L3) with eight independent 256-bit accumulators (two loads a cycle saturate DRAM on any AVX2 core), fastest of five passes.
/// </summary>
internal static unsafe class MemoryBandwidth
{
    const long Bytes = 1L << 30;
    const int Chunks = 1024;

    struct SumJob : IParallelJob
    {
        public float* Data;
        public long ChunkFloats;
        public float* Sums;

        public void Execute(int index, int thread)
        {
            float* p = Data + index * ChunkFloats;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < ChunkFloats; i += 64)
            {
                a0 += Vector256.Load(p + i);
                a1 += Vector256.Load(p + i + 8);
                a2 += Vector256.Load(p + i + 16);
                a3 += Vector256.Load(p + i + 24);
                a4 += Vector256.Load(p + i + 32);
                a5 += Vector256.Load(p + i + 40);
                a6 += Vector256.Load(p + i + 48);
                a7 += Vector256.Load(p + i + 56);
            }
            Sums[index] = Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)));
        }
    }

    /// <summary>GB/s (10⁹ bytes per second).</summary>
    public static double Measure(WorkerPool pool)
    {
        using var data = new NativeBuffer<float>(Bytes / 4);
        using var sums = new NativeBuffer<float>(Chunks);
        data.Span.Fill(1f); // touch every page before timing
        var job = new SumJob { Data = data.Pointer, ChunkFloats = Bytes / 4 / Chunks, Sums = sums.Pointer };
        double best = double.MaxValue;
        for (int pass = 0; pass < 5; pass++)
        {
            long start = Stopwatch.GetTimestamp();
            pool.For(Chunks, job);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return Bytes / best / 1e9;
    }
}
