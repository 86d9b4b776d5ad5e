using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Quantization;

namespace SpecDec.Tests.Tools.Quantization;

public class QuantPlanTests
{
    [Fact]
    public void Q4_K_M_PutsQ6_KWhereLlamaCppDoes()
    {
        // 16 layers (Llama-3.2-1B): use_more_bits picks layers 0, 1 (first eighth), 4, 7, 10, 13 (every third
        // after), 14, 15 (last eighth).
        int[] moreBits = Enumerable.Range(0, 16).Where(l => QuantPlan.UseMoreBits(l, 16)).ToArray();
        Assert.Equal([0, 1, 4, 7, 10, 13, 14, 15], moreBits);

        long[] square = [2048, 2048], kv = [2048, 512], down = [8192, 2048];
        Assert.Equal(GgmlType.Q6_K, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.AttnV(4), kv, 16, true));
        Assert.Equal(GgmlType.Q4_K, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.AttnV(5), kv, 16, true));
        Assert.Equal(GgmlType.Q6_K, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.FfnDown(15), down, 16, true));
        Assert.Equal(GgmlType.Q4_K, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.FfnDown(8), down, 16, true));
        Assert.Equal(GgmlType.Q4_K, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.AttnQ(0), square, 16, true));
        Assert.Equal(GgmlType.Q4_K, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.FfnUp(0), [2048, 8192], 16, true));
    }

    [Fact]
    public void TheOutputHeadIsQ6_K_AndSoIsATiedEmbedding()
    {
        long[] embd = [2048, 128256];
        Assert.Equal(GgmlType.Q6_K, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.Output, embd, 16, false));
        Assert.Equal(GgmlType.Q4_K, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.TokenEmbedding, embd, 16, false));
        Assert.Equal(GgmlType.Q6_K, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.TokenEmbedding, embd, 16, true));
    }

    [Theory]
    [InlineData(QuantScheme.Q4_K_M)]
    [InlineData(QuantScheme.Q8_0)]
    [InlineData(QuantScheme.F16)]
    public void VectorsStayF32(QuantScheme scheme)
    {
        Assert.Equal(GgmlType.F32, QuantPlan.TypeFor(scheme, TensorNames.AttnNorm(0), [2048], 16, true));
        Assert.Equal(GgmlType.F32, QuantPlan.TypeFor(scheme, TensorNames.AttnQBias(0), [896], 24, true));
        Assert.Equal(GgmlType.F32, QuantPlan.TypeFor(scheme, TensorNames.RopeFreqs, [32], 16, true));
    }

    [Fact]
    public void RaggedRowsFallBackToSmallerBlocks()
    {
        // Qwen2.5-0.5B: hidden 896 is a multiple of 32 but not of 256.
        long[] q = [896, 896];
        Assert.Equal(GgmlType.Q5_0, QuantPlan.TypeFor(QuantScheme.Q4_K, TensorNames.AttnQ(0), q, 24, true));
        Assert.Equal(GgmlType.Q8_0, QuantPlan.TypeFor(QuantScheme.Q6_K, TensorNames.AttnQ(0), q, 24, true));
        Assert.Equal(GgmlType.Q5_1, QuantPlan.TypeFor(QuantScheme.Q5_K_S, TensorNames.AttnQ(0), q, 24, true));
        Assert.Equal(GgmlType.Q4_0, QuantPlan.TypeFor(QuantScheme.Q2_K, TensorNames.AttnQ(0), q, 24, true));
        Assert.Equal(GgmlType.Q4_0, QuantPlan.TypeFor(QuantScheme.Q3_K_S, TensorNames.AttnQ(0), q, 24, true));
        Assert.Equal(GgmlType.IQ4_NL, QuantPlan.TypeFor(QuantScheme.IQ4_XS, TensorNames.AttnQ(0), q, 24, true));
        Assert.Equal(GgmlType.Q8_0, QuantPlan.TypeFor(QuantScheme.Q4_K_M, TensorNames.TokenEmbedding, [896, 151936], 24, true));
        Assert.Equal(GgmlType.Q4_0, QuantPlan.TypeFor(QuantScheme.Q4_0, TensorNames.AttnQ(0), q, 24, true));
        Assert.Equal(GgmlType.F16, QuantPlan.TypeFor(QuantScheme.Q4_K, TensorNames.AttnQ(0), [100, 896], 24, true));
        Assert.Equal(GgmlType.F16, QuantPlan.TypeFor(QuantScheme.Q8_0, TensorNames.AttnQ(0), [100, 896], 24, true));
    }

    [Fact]
    public void SchemeNamesParseAndUnknownOnesAreRefused()
    {
        Assert.Equal(QuantScheme.Q4_K_M, QuantPlan.Parse("Q4_K_M"));
        Assert.Equal(QuantScheme.BF16, QuantPlan.Parse("bf16"));
        var e = Assert.Throws<SpecDecException>(() => QuantPlan.Parse("q3_k"));
        Assert.Contains("q3_k", e.Message);
    }
}
