using System.Numerics.Tensors;

namespace SpecDec.Kernels;

/// <summary>In-place softmax, shifted by the maximum so large logits cannot overflow.</summary>
public static class Softmax
{
    public static void Apply(Span<float> x, SimdLevel level)
    {
        if (x.IsEmpty) return;
        if (level == SimdLevel.Scalar)
        {
            float max = float.NegativeInfinity;
            foreach (float v in x) max = MathF.Max(max, v);
            float sum = 0;
            for (int i = 0; i < x.Length; i++) sum += x[i] = MathF.Exp(x[i] - max);
            for (int i = 0; i < x.Length; i++) x[i] /= sum;
            return;
        }
        float m = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, m, x);
        TensorPrimitives.Exp(x, x);
        TensorPrimitives.Multiply(x, 1f / TensorPrimitives.Sum(x), x);
    }
}
