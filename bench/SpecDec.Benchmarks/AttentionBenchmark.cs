using BenchmarkDotNet.Attributes;
using SpecDec.Kernels;
using SpecDec.Tensors;

namespace SpecDec.Benchmarks;

/// <summary>
/// One layer's attention for T new rows (causal) over 512 cached positions with Llama-3.2-1B's heads (32 query
/// heads over 8 KV heads of 64), F32 or F16 cache, all cores. The 2 MB (1 MB) cache stays in the CPU caches
/// between operations.
/// </summary>
public unsafe class AttentionBenchmark : IReadsMemory
{
    const int Past = 512, Heads = 32, KvHeads = 8, HeadDim = 64, Capacity = Past + 16;

    WorkerPool _pool = null!;
    NativeBuffer<float> _q = null!, _k = null!, _v = null!, _output = null!, _scratch = null!;
    NativeBuffer<ushort> _halfK = null!, _halfV = null!;
    NativeBuffer<ulong> _visible = null!;

    [Params(1, 4, 8, 16)]
    public int T { get; set; }

    /// <summary>An f16 cache (else f32).</summary>
    [Params(false, true)]
    public bool F16 { get; set; }

    /// <summary>The keys and values of all Past + T positions, and the queries.</summary>
    public long BytesReadPerOperation =>
        2L * KvHeads * (Past + T) * HeadDim * (F16 ? sizeof(ushort) : sizeof(float)) + (long)T * Heads * HeadDim * sizeof(float);

    [GlobalSetup]
    public void Setup()
    {
        _pool = new WorkerPool();
        _q = Inputs.Random((long)T * Heads * HeadDim, seed: 1, scale: 2f);
        _k = Inputs.Random(KvHeads * Kernels.Attention.HeadFloats(Capacity, HeadDim), seed: 2);
        _v = Inputs.Random(KvHeads * Kernels.Attention.HeadFloats(Capacity, HeadDim), seed: 3);
        _output = new NativeBuffer<float>((long)T * Heads * HeadDim);
        _scratch = new NativeBuffer<float>((long)_pool.ThreadCount * Kernels.Attention.ScratchFloats(HeadDim));
        _halfK = Halves(_k);
        _halfV = Halves(_v);
        _visible = new NativeBuffer<ulong>(T);
        for (int i = 0; i < T; i++) _visible.Span[i] = (2UL << i) - 1; // causal: row i sees new rows 0..i
    }

    [Benchmark]
    public void Attention()
    {
        var problem = new Kernels.Attention.Problem
        {
            Q = _q.Pointer, Output = _output.Pointer, HeadStride = Kernels.Attention.HeadFloats(Capacity, HeadDim), T = T, Heads = Heads,
            KvHeads = KvHeads, HeadDim = HeadDim, Past = Past, Visible = _visible.Pointer, Scale = 1f / MathF.Sqrt(HeadDim),
            K = F16 ? (byte*)_halfK.Pointer : (byte*)_k.Pointer, V = F16 ? (byte*)_halfV.Pointer : (byte*)_v.Pointer, Half = F16,
        };
        Kernels.Attention.Run(_pool, problem, _scratch.Pointer, Simd.Best);
    }

    static NativeBuffer<ushort> Halves(NativeBuffer<float> values)
    {
        var halves = new NativeBuffer<ushort>(values.Length);
        for (long i = 0; i < values.Length; i++) halves.Pointer[i] = BitConverter.HalfToUInt16Bits((Half)values.Pointer[i]);
        return halves;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _q.Dispose();
        _k.Dispose();
        _v.Dispose();
        _halfK.Dispose();
        _halfV.Dispose();
        _output.Dispose();
        _scratch.Dispose();
        _visible.Dispose();
        _pool.Dispose();
    }
}
