using BenchmarkDotNet.Attributes;
using SpecDec.Kernels;
using SpecDec.Tensors;

namespace SpecDec.Benchmarks;

/// <summary>
/// Softmax in place over one row of logits of Llama-3's vocabulary (128256), as sampling needs. Repeating it on
/// its own output is harmless: the values stay in (0, 1] and the kernel's cost does not depend on them.
/// </summary>
public unsafe class SoftmaxBenchmark : IReadsMemory
{
    const int Vocabulary = 128256;

    NativeBuffer<float> _logits = null!;

    /// <summary>The row once (the kernel passes over it several times; this counts it once).</summary>
    public long BytesReadPerOperation => Vocabulary * sizeof(float);

    [GlobalSetup]
    public void Setup() => _logits = Inputs.Random(Vocabulary, seed: 1, scale: 10f);

    [Benchmark]
    public void Softmax() => Kernels.Softmax.Apply(_logits.Span, Simd.Best);

    [GlobalCleanup]
    public void Cleanup() => _logits.Dispose();
}
