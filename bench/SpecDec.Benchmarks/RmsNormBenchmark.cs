using BenchmarkDotNet.Attributes;
using SpecDec.Kernels;
using SpecDec.Tensors;

namespace SpecDec.Benchmarks;

/// <summary>One token's RMS norm over the 1B model's hidden size (2048), with a weight, into another buffer.</summary>
public unsafe class RmsNormBenchmark : IReadsMemory
{
    const int Hidden = 2048;

    NativeBuffer<float> _x = null!, _weight = null!, _y = null!;

    /// <summary>The row and the weight.</summary>
    public long BytesReadPerOperation => 2L * Hidden * sizeof(float);

    [GlobalSetup]
    public void Setup()
    {
        _x = Inputs.Random(Hidden, seed: 1, scale: 4f);
        _weight = Inputs.Random(Hidden, seed: 2);
        _y = new NativeBuffer<float>(Hidden);
    }

    [Benchmark]
    public void RmsNorm() => Kernels.RmsNorm.Apply(_x.Pointer, _weight.Pointer, _y.Pointer, Hidden, 1e-5f, Simd.Best);

    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _weight.Dispose();
        _y.Dispose();
    }
}
