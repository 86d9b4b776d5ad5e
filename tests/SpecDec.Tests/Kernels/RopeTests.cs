using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tests.Kernels;

public unsafe class RopeTests
{
    static ModelConfig Config(int headDim, float theta = 10000f, RopeScaling? scaling = null) => new()
    {
        Architecture = "llama", VocabSize = 1, HiddenSize = headDim, IntermediateSize = 1, LayerCount = 1, HeadCount = 1,
        KvHeadCount = 1, HeadDim = headDim, ContextLength = 1, RopeTheta = theta, RopeScaling = scaling,
    };

    [Fact]
    public void Frequencies_are_theta_to_the_minus_2j_over_d()
    {
        float[] f = RopeFrequencies.Of(Config(64, 500000f));
        for (int j = 0; j < 32; j++)
        {
            double expected = Math.Pow(500000.0, -2.0 * j / 64);
            Assert.True(Math.Abs(f[j] - expected) <= 1e-6 * expected, $"f[{j}] = {f[j]}, expected {expected}");
        }
    }

    /// <summary>transformers' _compute_llama3_parameters, written out again here in double precision.</summary>
    internal static double[] Llama3Reference(int headDim, double theta, double factor, double low, double high, double original)
    {
        var result = new double[headDim / 2];
        for (int j = 0; j < result.Length; j++)
        {
            double f = 1.0 / Math.Pow(theta, 2.0 * j / headDim);
            double wavelen = 2 * Math.PI / f;
            if (wavelen < original / high) result[j] = f;
            else if (wavelen > original / low) result[j] = f / factor;
            else
            {
                double smooth = (original / wavelen - low) / (high - low);
                result[j] = (1 - smooth) * f / factor + smooth * f;
            }
        }
        return result;
    }

    [Theory]
    [InlineData(128, 500000f, 8f, 1f, 4f, 8192)] // Llama 3.1 8B
    [InlineData(64, 500000f, 32f, 1f, 4f, 8192)] // Llama 3.2 1B
    [InlineData(16, 10000f, 8f, 1f, 4f, 64)]     // the tiny test models: all three bands
    public void Llama3_scaling_matches_the_transformers_formula(int headDim, float theta, float factor, float low, float high, int original)
    {
        float[] f = RopeFrequencies.Of(Config(headDim, theta, new RopeScaling(factor, low, high, original)));
        double[] expected = Llama3Reference(headDim, theta, factor, low, high, original);
        for (int j = 0; j < f.Length; j++)
            Assert.True(Math.Abs(f[j] - expected[j]) <= 2e-6 * expected[j], $"f[{j}] = {f[j]}, expected {expected[j]}");
        // High frequencies are kept and the lowest is divided by the factor.
        Assert.Equal(1f, f[0]);
        Assert.True(Math.Abs(f[^1] - Math.Pow(theta, -2.0 * (headDim / 2 - 1) / headDim) / factor) <= 1e-6 * f[^1]);
    }

    [Fact]
    public void Rope_freqs_factors_divide_the_frequencies()
    {
        float[] factors = [1f, 2f, 4f, 8f];
        float[] f = RopeFrequencies.Of(Config(8), factors);
        float[] plain = RopeFrequencies.Of(Config(8));
        for (int j = 0; j < 4; j++) Assert.Equal(plain[j] / factors[j], f[j]);
    }

    [Theory]
    [InlineData(RopeStyle.Neox)]
    [InlineData(RopeStyle.Normal)]
    public void Rotation_matches_the_closed_form(RopeStyle style)
    {
        const int d = 8;
        float[] f = RopeFrequencies.Of(Config(d));
        var rope = new Rope(d, style, f);
        int[] positions = [0, 1, 7, 300];
        float[] x = [0.5f, -1f, 2f, 0.25f, -0.75f, 1.5f, 3f, -2f];
        foreach (SimdLevel level in Simd.Supported())
            for (int r = 0; r < positions.Length; r++)
            {
                float[] v = (float[])x.Clone();
                Rotate(rope, positions[r], v, 1, level);
                for (int j = 0; j < d / 2; j++)
                {
                    // Neox pairs (j, j + d/2); Normal pairs (2j, 2j + 1).
                    int a = style == RopeStyle.Neox ? j : 2 * j, b = style == RopeStyle.Neox ? j + d / 2 : 2 * j + 1;
                    double angle = positions[r] * (double)f[j];
                    double ea = x[a] * Math.Cos(angle) - x[b] * Math.Sin(angle);
                    double eb = x[b] * Math.Cos(angle) + x[a] * Math.Sin(angle);
                    Assert.True(Math.Abs(v[a] - ea) < 1e-4 && Math.Abs(v[b] - eb) < 1e-4,
                        $"{style} {level} pos {positions[r]} pair {j}: ({v[a]}, {v[b]}) vs ({ea}, {eb})");
                }
            }
    }

    [Theory]
    [InlineData(RopeStyle.Neox, 64)]
    [InlineData(RopeStyle.Normal, 64)]
    [InlineData(RopeStyle.Neox, 80)]   // halves not a multiple of the vector width
    [InlineData(RopeStyle.Normal, 40)]
    [InlineData(RopeStyle.Neox, 6)]
    public void Simd_rotation_matches_the_scalar_twin(RopeStyle style, int d)
    {
        var rope = new Rope(d, style, RopeFrequencies.Of(Config(d, 1e6f, new RopeScaling(8, 1, 4, 64))));
        float[] x = KernelTestData.Random(new Random(d), 3 * d, 2f);
        float[] expected = (float[])x.Clone();
        Rotate(rope, 1234, expected, 3, SimdLevel.Scalar);
        foreach (SimdLevel level in Simd.Supported())
        {
            float[] v = (float[])x.Clone();
            Rotate(rope, 1234, v, 3, level);
            for (int i = 0; i < v.Length; i++) Assert.True(Math.Abs(v[i] - expected[i]) <= 1e-5f, $"{level} [{i}] {v[i]} vs {expected[i]}");
        }
    }

    static void Rotate(Rope rope, int position, float[] v, int heads, SimdLevel level)
    {
        var cos = new float[rope.HeadDim];
        var sin = new float[rope.HeadDim];
        fixed (float* c = cos)
        fixed (float* s = sin)
        fixed (float* p = v)
        {
            rope.Tables([position], c, s);
            rope.Apply(p, heads, c, s, level);
        }
    }
}
