using SpecDec.Kernels;
using SpecDec.Kernels.Quant;
using SpecDec.Tensors;

namespace SpecDec.Tests.Kernels;

/// <summary>Seeded random inputs and weight matrices of any type, in native memory.</summary>
internal static class KernelTestData
{
    public static float[] Random(Random rng, int length, float scale = 1f)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    public static NativeBuffer<float> Native(float[] values)
    {
        var b = new NativeBuffer<float>(values.Length);
        values.CopyTo(b.Span);
        return b;
    }

    /// <summary>W[rows × columns] as <paramref name="type"/> bytes (rows of columns elements).</summary>
    public static NativeBuffer<byte> Weights(GgmlType type, float[] w, int rows, int columns)
    {
        long rowBytes = GgmlTypeInfo.ByteCount(type, columns);
        var b = new NativeBuffer<byte>(rowBytes * rows);
        for (int n = 0; n < rows; n++)
            WeightQuantizer.Row(type, w.AsSpan(n * columns, columns), b.Span.Slice((int)(n * rowBytes), (int)rowBytes));
        return b;
    }

    /// <summary>What the weights hold after rounding to their type.</summary>
    public static unsafe float[] Decoded(GgmlType type, NativeBuffer<byte> weights, int rows, int columns)
    {
        long rowBytes = GgmlTypeInfo.ByteCount(type, columns);
        var w = new float[rows * columns];
        fixed (float* p = w)
            for (int n = 0; n < rows; n++)
                Dequantize.Row(type, weights.Pointer + n * rowBytes, p + (long)n * columns, columns, SimdLevel.Scalar);
        return w;
    }
}
