using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// Activations quantized to int8 in blocks of 32 with one f32 scale each (Q8_0 with an f32 scale), done
/// once per matmul call so integer dot products can run against Q8_0 (and later Q4_0) weight blocks.
/// d = max|x| / 127, q = round-half-even(x / d): the SIMD path's cvtps2dq rounds the same way, so scalar
/// and SIMD produce identical bytes. Each block also gets bias = −128·Σq, which the packed Q8_0 kernel
/// (<see cref="Linear.Q8_0Packed"/>) starts its sums at to cancel its weights' +128 offset.
/// </summary>
public static unsafe class ActivationQ8
{
    public const int Block = 32;

    /// <summary>q[0..k), d[0..k/32) and bias[0..k/32) from x[0..k); k a multiple of 32.</summary>
    public static void Quantize(float* x, int k, sbyte* q, float* d, int* bias, SimdLevel level)
    {
        if (level == SimdLevel.Scalar) QuantizeScalar(x, k, q, d, bias);
        else QuantizeAvx2(x, k, q, d, bias);
    }

    static void QuantizeScalar(float* x, int k, sbyte* q, float* d, int* bias)
    {
        for (int b = 0; b < k / Block; b++)
        {
            float* xb = x + b * Block;
            float amax = 0;
            for (int i = 0; i < Block; i++) amax = MathF.Max(amax, MathF.Abs(xb[i]));
            float scale = amax / 127f;
            float inv = scale != 0 ? 1f / scale : 0f;
            d[b] = scale;
            int sum = 0;
            for (int i = 0; i < Block; i++)
            {
                q[b * Block + i] = (sbyte)(int)MathF.Round(xb[i] * inv, MidpointRounding.ToEven);
                sum += q[b * Block + i];
            }
            bias[b] = -128 * sum;
        }
    }

    static void QuantizeAvx2(float* x, int k, sbyte* q, float* d, int* bias)
    {
        Vector256<float> signBit = Vector256.Create(-0f);
        for (int b = 0; b < k / Block; b++)
        {
            float* xb = x + b * Block;
            Vector256<float> v0 = Vector256.Load(xb), v1 = Vector256.Load(xb + 8);
            Vector256<float> v2 = Vector256.Load(xb + 16), v3 = Vector256.Load(xb + 24);
            Vector256<float> m = Vector256.Max(Vector256.Max(Vector256.AndNot(v0, signBit), Vector256.AndNot(v1, signBit)),
                                               Vector256.Max(Vector256.AndNot(v2, signBit), Vector256.AndNot(v3, signBit)));
            float amax = Float256.MaxElement(new Float256(m));
            float scale = amax / 127f;
            float inv = scale != 0 ? 1f / scale : 0f;
            d[b] = scale;
            Vector256<float> vi = Vector256.Create(inv);
            // cvtps2dq rounds half to even (default MXCSR), as the scalar path does.
            Vector256<int> i0 = Avx.ConvertToVector256Int32(v0 * vi), i1 = Avx.ConvertToVector256Int32(v1 * vi);
            Vector256<int> i2 = Avx.ConvertToVector256Int32(v2 * vi), i3 = Avx.ConvertToVector256Int32(v3 * vi);
            bias[b] = -128 * Vector256.Sum(i0 + i1 + i2 + i3);
            // Packing works within 128-bit lanes; the permute puts the 32 bytes back in order.
            Vector256<short> s01 = Avx2.PackSignedSaturate(i0, i1), s23 = Avx2.PackSignedSaturate(i2, i3);
            Vector256<sbyte> packed = Avx2.PackSignedSaturate(s01, s23);
            Avx2.PermuteVar8x32(packed.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte().Store(q + b * Block);
        }
    }
}
