using BenchmarkDotNet.Attributes;
using SpecDec.Kernels;
using SpecDec.Tensors;

namespace SpecDec.Benchmarks;

/// <summary>
/// One token's SwiGLU gate over the 1B model's FFN width (8192). The kernel overwrites both its inputs, and
/// applying it again to its own output would shrink the values into denormals, so each operation first
/// restores gate and up from pristine copies: the figure includes that copy.
/// </summary>
public unsafe class SwiGluBenchmark : IReadsMemory
{
    const int Width = 8192;
    const long Bytes = Width * sizeof(float);

    NativeBuffer<float> _gateSource = null!, _upSource = null!, _gate = null!, _up = null!;

    /// <summary>The pristine gate and up, then the restored ones.</summary>
    public long BytesReadPerOperation => 4 * Bytes;

    [GlobalSetup]
    public void Setup()
    {
        _gateSource = Inputs.Random(Width, seed: 1, scale: 4f);
        _upSource = Inputs.Random(Width, seed: 2);
        _gate = new NativeBuffer<float>(Width);
        _up = new NativeBuffer<float>(Width);
    }

    [Benchmark]
    public void SwiGlu()
    {
        Buffer.MemoryCopy(_gateSource.Pointer, _gate.Pointer, Bytes, Bytes);
        Buffer.MemoryCopy(_upSource.Pointer, _up.Pointer, Bytes, Bytes);
        Kernels.SwiGlu.Apply(_gate.Pointer, _up.Pointer, Width, Simd.Best);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gateSource.Dispose();
        _upSource.Dispose();
        _gate.Dispose();
        _up.Dispose();
    }
}
