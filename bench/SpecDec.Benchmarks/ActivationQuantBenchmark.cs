using BenchmarkDotNet.Attributes;
using SpecDec.Kernels;
using SpecDec.Tensors;

namespace SpecDec.Benchmarks;

/// <summary>
/// One activation row to int8, as every quantized matmul does first for each of its T rows: blocks of 32 for
/// Q8_0/Q4_0 weights, of 256 with per-16 sums for the K-quants. K = 2048 is the 1B model's hidden size,
/// 8192 its FFN width (the down projection's input). One thread.
/// </summary>
public unsafe class ActivationQuantBenchmark : IReadsMemory
{
    NativeBuffer<float> _x = null!, _scales = null!;
    NativeBuffer<sbyte> _q = null!;
    NativeBuffer<short> _sums = null!;
    NativeBuffer<int> _bias = null!;

    [Params(2048, 8192)]
    public int K { get; set; }

    public long BytesReadPerOperation => (long)K * sizeof(float);

    [GlobalSetup]
    public void Setup()
    {
        _x = Inputs.Random(K, seed: 1, scale: 3f);
        _q = new NativeBuffer<sbyte>(K);
        _scales = new NativeBuffer<float>(K / Kernels.Quant.ActivationQ8.Block);
        _sums = new NativeBuffer<short>(K / Kernels.Quant.ActivationQ8K.SumGroup);
        _bias = new NativeBuffer<int>(K / Kernels.Quant.ActivationQ8.Block);
    }

    [Benchmark]
    public void ActivationQ8() => Kernels.Quant.ActivationQ8.Quantize(_x.Pointer, K, _q.Pointer, _scales.Pointer, _bias.Pointer, Simd.Best);

    [Benchmark]
    public void ActivationQ8K() =>
        Kernels.Quant.ActivationQ8K.Quantize(_x.Pointer, K, _q.Pointer, _scales.Pointer, _sums.Pointer, Simd.Best);

    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _q.Dispose();
        _scales.Dispose();
        _sums.Dispose();
        _bias.Dispose();
    }
}
