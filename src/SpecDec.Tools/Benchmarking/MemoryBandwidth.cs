using System.Diagnostics;
using System.Runtime.Intrinsics;
using SpecDec.Kernels;
using SpecDec.Tensors;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// The machine's read bandwidth, the bound decode speed is judged against: every pool thread sums its share
/// of a buffer far beyond any L3 (1 GiB by default) with eight independent 256-bit accumulators (two loads a
/// cycle saturate DRAM on any AVX2 core). <see cref="Measure"/> is what `specdec perf` reports;
/// the kernel benchmarks time <see cref="ReadOnce"/> themselves.
/// </summary>
public sealed unsafe class MemoryBandwidth : IDisposable
{
    public const long DefaultBytes = 1L << 30;
    const int Chunks = 1024;
    const int FloatsPerStep = 64;

    readonly WorkerPool _pool;
    readonly NativeBuffer<float> _data;
    readonly NativeBuffer<float> _sums;

    /// <param name="bytes">Buffer size: a multiple of 256 KiB (1024 chunks of whole 256-byte steps).</param>
    public MemoryBandwidth(WorkerPool pool, long bytes = DefaultBytes)
    {
        if (bytes <= 0 || bytes % (Chunks * FloatsPerStep * sizeof(float)) != 0)
            throw new ArgumentException($"{bytes} bytes is not a positive multiple of {Chunks * FloatsPerStep * sizeof(float)}", nameof(bytes));
        _pool = pool;
        Bytes = bytes;
        _data = new NativeBuffer<float>(bytes / sizeof(float));
        _sums = new NativeBuffer<float>(Chunks);
        _data.Span.Fill(1f); // touch every page before timing
    }

    public long Bytes { get; }

    /// <summary>GB/s (10⁹ bytes per second) of the fastest of five passes over <see cref="DefaultBytes"/>.</summary>
    public static double Measure(WorkerPool pool)
    {
        using var memory = new MemoryBandwidth(pool);
        double best = double.MaxValue;
        for (int pass = 0; pass < 5; pass++)
        {
            long start = Stopwatch.GetTimestamp();
            memory.ReadOnce();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return memory.Bytes / best / 1e9;
    }

    /// <summary>One pass over the whole buffer; returns the sum of its floats (its float count: every one is 1),
    /// which keeps the reads from being optimised away.</summary>
    public float ReadOnce()
    {
        _pool.For(Chunks, new SumJob { Data = _data.Pointer, ChunkFloats = Bytes / sizeof(float) / Chunks, Sums = _sums.Pointer });
        float total = 0;
        for (int i = 0; i < Chunks; i++) total += _sums.Pointer[i];
        return total;
    }

    public void Dispose()
    {
        _data.Dispose();
        _sums.Dispose();
    }

    struct SumJob : IParallelJob
    {
        public float* Data;
        public long ChunkFloats;
        public float* Sums;

        public void Execute(int index, int thread)
        {
            float* p = Data + index * ChunkFloats;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (long i = 0; i < ChunkFloats; i += FloatsPerStep)
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
}
