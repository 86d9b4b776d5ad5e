using System.Numerics.Tensors;

namespace SpecDec.Kernels;

/// <summary>
/// The GeGLU gate (Gemma): up[i] = gelu_tanh(gate[i]) · up[i], with PyTorch's tanh approximation
/// gelu_tanh(g) = ½·g·(1 + tanh(√(2/π)·(g + 0.044715·g³))). The vector path uses the identical
/// ½(1 + tanh z) = σ(2z), in chunks on the stack.
/// </summary>
public static unsafe class GeGlu
{
    const float Sqrt2OverPi = 0.7978845608f, Cubic = 0.044715f;

    public static void Apply(float* gate, float* up, int n, SimdLevel level)
    {
        if (level == SimdLevel.Scalar)
        {
            for (int i = 0; i < n; i++)
            {
                float g = gate[i];
                up[i] = 0.5f * g * (1f + MathF.Tanh(Sqrt2OverPi * (g + Cubic * g * g * g))) * up[i];
            }
            return;
        }
        const int Chunk = 256;
        Span<float> z = stackalloc float[Chunk];
        for (int i0 = 0; i0 < n; i0 += Chunk)
        {
            int m = Math.Min(Chunk, n - i0);
            var g = new ReadOnlySpan<float>(gate + i0, m);
            var u = new Span<float>(up + i0, m);
            var t = z[..m];
            TensorPrimitives.Multiply(g, g, t);                                   // g²
            TensorPrimitives.Multiply(t, 2 * Sqrt2OverPi * Cubic, t);
            TensorPrimitives.Add(t, 2 * Sqrt2OverPi, t);                          // 2√(2/π)(1 + c·g²)
            TensorPrimitives.Multiply(t, g, t);                                   // 2z
            TensorPrimitives.Sigmoid(t, t);
            TensorPrimitives.Multiply(t, g, t);
            TensorPrimitives.Multiply(t, u, u);
        }
    }
}
