using SpecDec.Model;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Tools.Conversion;

public sealed class Llama3RopeFactorsTests
{
    /// <summary>transformers' _compute_llama3_parameters in double precision: the scaled inverse frequencies.</summary>
    private static double[] TransformersInvFreq(int dim, double theta, RopeScaling s)
    {
        double low = s.OriginalContextLength / s.LowFreqFactor, high = s.OriginalContextLength / s.HighFreqFactor;
        var result = new double[dim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            double invFreq = 1 / Math.Pow(theta, 2.0 * i / dim);
            double wavelen = 2 * Math.PI / invFreq;
            double scaled = wavelen > low ? invFreq / s.Factor : invFreq;
            double smooth = (s.OriginalContextLength / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            bool medium = !(wavelen < high) && !(wavelen > low);
            result[i] = medium ? (1 - smooth) * scaled / s.Factor + smooth * scaled : scaled;
        }
        return result;
    }

    [Theory]
    [InlineData(128, 500000f, 8f, 1f, 4f, 8192)] // Llama 3.1 8B
    [InlineData(64, 500000f, 32f, 1f, 4f, 8192)] // Llama 3.2 1B
    [InlineData(16, 10000f, 8f, 1f, 4f, 64)]     // the llama fixture
    public void DividingByTheFactorsGivesTransformersFrequencies(int dim, float theta, float factor, float low, float high, int original)
    {
        var scaling = new RopeScaling(factor, low, high, original);
        float[] factors = Llama3RopeFactors.Compute(dim, theta, scaling);
        double[] expected = TransformersInvFreq(dim, theta, scaling);
        Assert.Equal(dim / 2, factors.Length);
        for (int i = 0; i < factors.Length; i++)
        {
            double ours = 1 / Math.Pow(theta, 2.0 * i / dim) / factors[i];
            Assert.True(Math.Abs(ours - expected[i]) <= 1e-6 * expected[i], $"pair {i}: {ours} vs {expected[i]}");
        }
        // High frequencies untouched, low ones divided by the full factor.
        Assert.Equal(1f, factors[0]);
        Assert.Equal(factor, factors[^1]);
    }
}
