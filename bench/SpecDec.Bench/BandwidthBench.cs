using System.Diagnostics;
using System.Runtime.Intrinsics;
using SpecDec.Kernels;

namespace SpecDec.Bench;

/// <summary>The machine's read bandwidth: all threads summing a buffer far bigger than the caches.</summary>
internal static unsafe class BandwidthBench
{
    struct SumJob : IParallelJob
    {
        public float* Data;
        public long ChunkFloats;
        public float* Out;

        public void Execute(int index, int thread)
        {
            float* p = Data + index * ChunkFloats;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (long i = 0; i < ChunkFloats; i += 64)
            {
                a0 += Vector512.Load(p + i);
                a1 += Vector512.Load(p + i + 16);
                a2 += Vector512.Load(p + i + 32);
                a3 += Vector512.Load(p + i + 48);
            }
            Out[index] = Vector512.Sum(a0 + a1 + a2 + a3);
        }
    }

    /// <summary>GB/s of the fastest of several passes over 512 MB.</summary>
    public static double Measure(WorkerPool pool)
    {
        const long floats = 128L << 20;
        const int chunks = 512;
        using var data = new NativeBuffer<float>(floats);
        using var sums = new NativeBuffer<float>(chunks);
        data.Span.Fill(1f); // touch every page
        var job = new SumJob { Data = data.Pointer, ChunkFloats = floats / chunks, Out = sums.Pointer };
        double best = double.MaxValue;
        for (int pass = 0; pass < 8; pass++)
        {
            long start = Stopwatch.GetTimestamp();
            pool.For(chunks, job);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return floats * 4 / best / 1e9;
    }
}
