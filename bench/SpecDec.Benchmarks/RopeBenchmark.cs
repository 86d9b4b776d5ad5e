using BenchmarkDotNet.Attributes;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Benchmarks;

/// <summary>
/// Rotating one token's queries and keys in place (Llama-3.2-1B: 32 + 8 heads of 64, GGUF pair order) with
/// tables built once, as a forward pass builds them once for all layers. Rotations keep the vectors' length,
/// so repeating the operation on the same data stays finite.
/// </summary>
public unsafe class RopeBenchmark : IReadsMemory
{
    const int Heads = 32 + 8, HeadDim = 64;

    Rope _rope = null!;
    NativeBuffer<float> _x = null!, _cos = null!, _sin = null!;

    /// <summary>The head vectors and one row of cosine and sine tables.</summary>
    public long BytesReadPerOperation => (Heads + 2L) * HeadDim * sizeof(float);

    [GlobalSetup]
    public void Setup()
    {
        var frequencies = new float[HeadDim / 2];
        for (int j = 0; j < frequencies.Length; j++) frequencies[j] = 1f / MathF.Pow(500000f, 2f * j / HeadDim);
        _rope = new Rope(HeadDim, RopeStyle.Normal, frequencies);
        _x = Inputs.Random(Heads * HeadDim, seed: 1);
        _cos = new NativeBuffer<float>(HeadDim);
        _sin = new NativeBuffer<float>(HeadDim);
        _rope.Tables([300], _cos.Pointer, _sin.Pointer);
    }

    [Benchmark]
    public void Rope() => _rope.Apply(_x.Pointer, Heads, _cos.Pointer, _sin.Pointer, Simd.Best);

    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _cos.Dispose();
        _sin.Dispose();
    }
}
