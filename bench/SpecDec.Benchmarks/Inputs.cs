using SpecDec.Kernels;
using SpecDec.Tensors;

namespace SpecDec.Benchmarks;

/// <summary>Seeded inputs, so every run times the same numbers.</summary>
static class Inputs
{
    /// <summary>Native floats uniform in [−scale, scale).</summary>
    public static NativeBuffer<float> Random(long length, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var buffer = new NativeBuffer<float>(length);
        Span<float> values = buffer.Span;
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return buffer;
    }
}
