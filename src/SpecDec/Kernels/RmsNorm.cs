using System.Numerics.Tensors;

namespace SpecDec.Kernels;

/// <summary>y = x / sqrt(mean(x²) + eps) · weight (weight may be null: plain normalisation).</summary>
public static unsafe class RmsNorm
{
    public static void Apply(float* x, float* weight, float* y, int n, float eps, SimdLevel level)
    {
        if (level == SimdLevel.Scalar)
        {
            float ss = 0;
            for (int i = 0; i < n; i++) ss += x[i] * x[i];
            float scale = 1f / MathF.Sqrt(ss / n + eps);
            for (int i = 0; i < n; i++) y[i] = x[i] * scale * (weight == null ? 1f : weight[i]);
            return;
        }
        var xs = new ReadOnlySpan<float>(x, n);
        var ys = new Span<float>(y, n);
        float s = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(xs) / n + eps);
        TensorPrimitives.Multiply(xs, s, ys);
        if (weight != null) TensorPrimitives.Multiply(ys, new ReadOnlySpan<float>(weight, n), ys);
    }
}
