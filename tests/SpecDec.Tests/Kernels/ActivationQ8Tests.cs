using SpecDec.Kernels;
using SpecDec.Kernels.Quant;

namespace SpecDec.Tests.Kernels;

public unsafe class ActivationQ8Tests
{
    [Fact]
    public void Simd_quantization_is_bit_identical_to_the_scalar_twin()
    {
        var rng = new Random(11);
        const int k = 32 * 40;
        float[] x = KernelTestData.Random(rng, k, 5f);
        for (int i = 0; i < 32; i++) x[i] = 0;                      // an all-zero block
        for (int i = 32; i < 64; i++) x[i] = (i - 48) * 0.5f;       // exact .5 ties after scaling
        var (qRef, dRef, biasRef) = Quantize(x, SimdLevel.Scalar);
        foreach (SimdLevel level in Simd.Supported())
        {
            var (q, d, bias) = Quantize(x, level);
            Assert.Equal(qRef, q);
            Assert.Equal(dRef, d);
            Assert.Equal(biasRef, bias);
        }
        for (int b = 0; b < k / 32; b++) Assert.Equal(-128 * qRef.Skip(b * 32).Take(32).Sum(v => v), biasRef[b]);
    }

    [Fact]
    public void Blocks_scale_by_max_abs_over_127_and_round_half_to_even()
    {
        var x = new float[32];
        x[0] = 127f;  // d = 1
        x[1] = 2.5f;  // → 2 (tie to even)
        x[2] = -3.5f; // → -4
        x[3] = 0.49f; // → 0
        var (q, d, _) = Quantize(x, SimdLevel.Scalar);
        Assert.Equal(1f, d[0]);
        Assert.Equal(new sbyte[] { 127, 2, -4, 0 }, q[..4]);
    }

    static (sbyte[] Q, float[] D, int[] Bias) Quantize(float[] x, SimdLevel level)
    {
        var q = new sbyte[x.Length];
        var d = new float[x.Length / 32];
        var bias = new int[x.Length / 32];
        fixed (float* px = x)
        fixed (sbyte* pq = q)
        fixed (float* pd = d)
        fixed (int* pb = bias)
            ActivationQ8.Quantize(px, x.Length, pq, pd, pb, level);
        return (q, d, bias);
    }
}
