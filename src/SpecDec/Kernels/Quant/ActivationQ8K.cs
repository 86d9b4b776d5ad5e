using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// Activations quantized as ggml's Q8_K (quantize_row_q8_K_ref, which ggml's CPU matmul runs), the partner of
/// the K-quant weights: blocks of 256 int8 with one f32 scale, plus the sum of each 16 quants, from which the
/// kernels apply mins and offsets without touching the quants again. With m the value of largest magnitude
/// (the first of equals), q = round-half-even(x · (−127 / m)) and d = m / −127 computed as ggml does (so m maps
/// to −127 and d takes m's opposite sign): the same bytes and scales as llama.cpp's. cvtps2dq rounds half to
/// even as the scalar path does, so scalar and SIMD produce identical bytes.
/// </summary>
public static unsafe class ActivationQ8K
{
    public const int Block = 256;
    public const int SumGroup = 16;

    /// <summary>q[0..k), d[0..k/256) and sums[0..k/16) from x[0..k); k a multiple of 256.</summary>
    public static void Quantize(float* x, int k, sbyte* q, float* d, short* sums, SimdLevel level)
    {
        if (k % Block != 0) throw new ArgumentException($"Q8_K activations: K = {k} is not a multiple of {Block}");
        switch (level)
        {
            case SimdLevel.V512: QuantizeAvx512(x, k, q, d, sums); break;
            case SimdLevel.V256: QuantizeAvx2(x, k, q, d, sums); break;
            default: QuantizeScalar(x, k, q, d, sums); break;
        }
    }

    static void QuantizeScalar(float* x, int k, sbyte* q, float* d, short* sums)
    {
        for (int b = 0; b < k / Block; b++)
        {
            float* xb = x + b * Block;
            float amax = 0, max = 0;
            for (int i = 0; i < Block; i++)
            {
                if (MathF.Abs(xb[i]) > amax)
                {
                    amax = MathF.Abs(xb[i]);
                    max = xb[i];
                }
            }
            float inv = Inverse(max, out d[b]);
            for (int g = 0; g < Block / SumGroup; g++)
            {
                int sum = 0;
                for (int i = g * SumGroup; i < (g + 1) * SumGroup; i++)
                {
                    int v = Math.Min(127, (int)MathF.Round(xb[i] * inv, MidpointRounding.ToEven));
                    q[b * Block + i] = (sbyte)v;
                    sum += v;
                }
                sums[b * (Block / SumGroup) + g] = (short)sum;
            }
        }
    }

    static void QuantizeAvx512(float* x, int k, sbyte* q, float* d, short* sums)
    {
        for (int b = 0; b < k / Block; b++)
        {
            float* xb = x + b * Block;
            Vector512<float> m = Vector512<float>.Zero;
            for (int i = 0; i < Block; i += 16) m = Vector512.Max(m, Vector512.Abs(Vector512.Load(xb + i)));
            float inv = Inverse(FirstOfMagnitude(xb, MaxElement(Vector256.Max(m.GetLower(), m.GetUpper()))), out d[b]);
            Vector512<float> vi = Vector512.Create(inv);
            for (int g = 0; g < Block / SumGroup; g++)
            {
                // One sum group is exactly one vector of 16.
                Vector512<int> v = Vector512.Min(Avx512F.ConvertToVector512Int32(Vector512.Load(xb + g * SumGroup) * vi), Vector512.Create(127));
                Avx512F.ConvertToVector128SByte(v).Store(q + b * Block + g * SumGroup);
                sums[b * (Block / SumGroup) + g] = (short)Vector512.Sum(v);
            }
        }
    }

    static void QuantizeAvx2(float* x, int k, sbyte* q, float* d, short* sums)
    {
        for (int b = 0; b < k / Block; b++)
        {
            float* xb = x + b * Block;
            Vector256<float> m = Vector256<float>.Zero;
            for (int i = 0; i < Block; i += 8) m = Vector256.Max(m, Vector256.Abs(Vector256.Load(xb + i)));
            float inv = Inverse(FirstOfMagnitude(xb, MaxElement(m)), out d[b]);
            Vector256<float> vi = Vector256.Create(inv);
            for (int g = 0; g < Block / SumGroup; g++)
            {
                Vector256<int> v0 = Vector256.Min(Avx.ConvertToVector256Int32(Vector256.Load(xb + g * SumGroup) * vi), Vector256.Create(127));
                Vector256<int> v1 = Vector256.Min(Avx.ConvertToVector256Int32(Vector256.Load(xb + g * SumGroup + 8) * vi), Vector256.Create(127));
                // Packing works within 128-bit lanes: [v0 lo, v1 lo, v0 hi, v1 hi]; the permute restores order.
                Vector256<short> packed = Avx2.Permute4x64(Avx2.PackSignedSaturate(v0, v1).AsInt64(), 0b11_01_10_00).AsInt16();
                Sse2.PackSignedSaturate(packed.GetLower(), packed.GetUpper()).Store(q + b * Block + g * SumGroup);
                sums[b * (Block / SumGroup) + g] = (short)Vector256.Sum(v0 + v1);
            }
        }
    }

    /// <summary>ggml's iscale = −127 / m (0 for an all-zero block) and d = 1 / iscale.</summary>
    static float Inverse(float max, out float d)
    {
        if (max == 0)
        {
            d = 0;
            return 0;
        }
        float iscale = -127f / max;
        d = 1 / iscale;
        return iscale;
    }

    /// <summary>The first of the 256 values at x whose magnitude is amax.</summary>
    static float FirstOfMagnitude(float* x, float amax)
    {
        for (int i = 0; i < Block; i++)
            if (MathF.Abs(x[i]) == amax) return x[i];
        return 0;
    }

    static float MaxElement(Vector256<float> v)
    {
        Vector128<float> m = Vector128.Max(v.GetLower(), v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(m.ToScalar(), m.GetElement(1));
    }
}
