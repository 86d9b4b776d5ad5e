using SpecDec.Kernels;

namespace SpecDec.Tests.Kernels;

public unsafe class ElementwiseKernelTests
{
    [Theory]
    [InlineData(64)]
    [InlineData(1003)]
    public void RmsNorm_divides_by_the_root_mean_square_and_scales_by_the_weight(int n)
    {
        var rng = new Random(n);
        float[] x = KernelTestData.Random(rng, n, 4f), w = KernelTestData.Random(rng, n);
        double ms = x.Sum(v => (double)v * v) / n;
        foreach (SimdLevel level in Simd.Supported())
        {
            var y = new float[n];
            fixed (float* px = x)
            fixed (float* pw = w)
            fixed (float* py = y)
                RmsNorm.Apply(px, pw, py, n, 1e-5f, level);
            for (int i = 0; i < n; i++)
            {
                double expected = x[i] / Math.Sqrt(ms + 1e-5) * w[i];
                Assert.True(Math.Abs(y[i] - expected) <= 1e-5 * (1 + Math.Abs(expected)), $"{level} [{i}] {y[i]} vs {expected}");
            }
        }
    }

    [Fact]
    public void SwiGlu_is_silu_of_gate_times_up()
    {
        const int n = 1003;
        var rng = new Random(2);
        float[] gate = KernelTestData.Random(rng, n, 8f), up = KernelTestData.Random(rng, n, 2f);
        foreach (SimdLevel level in Simd.Supported())
        {
            float[] g = (float[])gate.Clone(), u = (float[])up.Clone();
            fixed (float* pg = g)
            fixed (float* pu = u)
                SwiGlu.Apply(pg, pu, n, level);
            for (int i = 0; i < n; i++)
            {
                double expected = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                Assert.True(Math.Abs(u[i] - expected) <= 1e-5 * (1 + Math.Abs(expected)), $"{level} [{i}] {u[i]} vs {expected}");
            }
        }
    }

    [Fact]
    public void Softmax_sums_to_one_survives_huge_logits_and_matches_exp_ratios()
    {
        const int n = 517;
        var rng = new Random(4);
        float[] logits = KernelTestData.Random(rng, n, 20f);
        logits[3] = 1e4f; // would overflow exp without the max shift
        logits[4] = 1e4f - 1;
        foreach (SimdLevel level in Simd.Supported())
        {
            float[] p = (float[])logits.Clone();
            Softmax.Apply(p, level);
            Assert.True(Math.Abs(p.Sum(v => (double)v) - 1) < 1e-5);
            double z = 1 + Math.Exp(-1);
            Assert.True(Math.Abs(p[3] - 1 / z) < 1e-6 && Math.Abs(p[4] - Math.Exp(-1) / z) < 1e-6, $"{level}: {p[3]}, {p[4]}");
            float[] q = (float[])logits.Clone();
            q[3] = q[4] = 0;
            Softmax.Apply(q, level);
            double ratio = Math.Exp(logits[0] - logits[1]);
            Assert.True(Math.Abs(q[0] / q[1] - ratio) < 1e-4 * ratio, $"{level}: p0/p1 = {q[0] / q[1]}, expected {ratio}");
        }
    }
}
