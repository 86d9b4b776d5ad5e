using System.Numerics.Tensors;

namespace SpecDec.Kernels;

/// <summary>The SwiGLU gate: up[i] = silu(gate[i]) · up[i], silu(g) = g · sigmoid(g). Gate is clobbered.</summary>
public static unsafe class SwiGlu
{
    public static void Apply(float* gate, float* up, int n, SimdLevel level)
    {
        if (level == SimdLevel.Scalar)
        {
            for (int i = 0; i < n; i++) up[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
            return;
        }
        var g = new Span<float>(gate, n);
        var u = new Span<float>(up, n);
        TensorPrimitives.Multiply(g, u, u);
        TensorPrimitives.Sigmoid(g, g);
        TensorPrimitives.Multiply(g, u, u);
    }
}
