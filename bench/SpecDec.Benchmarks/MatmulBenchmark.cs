using BenchmarkDotNet.Attributes;
using SpecDec.Formats;
using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Tensors;

namespace SpecDec.Benchmarks;

/// <summary>
/// Y[T × N] = X[T × K] · Wᵀ for every weight type at the batch sizes speculation verifies, on a square
/// 2048 × 2048 weight (Llama-3.2-1B's q and o projections) read from DRAM (<see cref="ColdWeights"/>), all cores.
/// Includes quantizing X to int8 where the type's kernel wants it.
/// </summary>
public unsafe class MatmulBenchmark : IReadsMemory
{
    const int K = 2048, N = 2048;

    WorkerPool _pool = null!;
    MatmulWorkspace _workspace = null!;
    NativeBuffer<float> _x = null!, _y = null!;
    ColdWeights _weights = null!;

    [Params(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q4_1, GgmlType.Q5_0,
        GgmlType.Q5_1, GgmlType.IQ4_NL, GgmlType.MXFP4, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q5_K, GgmlType.IQ4_XS)]
    public GgmlType Type { get; set; }

    [Params(1, 4, 8, 16)]
    public int T { get; set; }

    /// <summary>The weight once and the T activation rows.</summary>
    public long BytesReadPerOperation => GgmlTypeInfo.ByteCount(Type, K) * N + (long)T * K * sizeof(float);

    [GlobalSetup]
    public void Setup()
    {
        _pool = new WorkerPool();
        _workspace = new MatmulWorkspace(T, K, _pool.ThreadCount);
        _x = Inputs.Random((long)T * K, seed: 1);
        _y = new NativeBuffer<float>((long)T * N);
        _weights = new ColdWeights(Type, N, K, seed: 2);
    }

    [Benchmark]
    public void Matmul() => Kernels.Linear.Matmul.Run(_pool, _workspace, _x.Pointer, T, Simd.Best, new MatmulPart(_weights.Next(), _y.Pointer));

    [GlobalCleanup]
    public void Cleanup()
    {
        _weights.Dispose();
        _y.Dispose();
        _x.Dispose();
        _workspace.Dispose();
        _pool.Dispose();
    }
}
