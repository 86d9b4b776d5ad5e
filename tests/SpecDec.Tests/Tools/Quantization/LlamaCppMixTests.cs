using SpecDec.Tensors;
using SpecDec.Tests.Tools.Benchmarking;
using SpecDec.Tools.Quantization;

namespace SpecDec.Tests.Tools.Quantization;

/// <summary>
/// The mixes tensor for tensor against what llama.cpp's llama-quantize wrote for the bundled target
/// (tests/fixtures/llamacpp-quants/mixes.tsv: 8 layers, tied embeddings, 8 query heads over 4 KV heads, FFN rows
/// of 1408 that fall back to 32-blocks).
/// </summary>
public class LlamaCppMixTests
{
    public static TheoryData<string> Mixes() => new("Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_XS");

    [Theory]
    [MemberData(nameof(Mixes))]
    public void Every_tensor_gets_the_type_llama_quantize_gave_it(string mix)
    {
        QuantScheme scheme = QuantPlan.Parse(mix);
        var rows = File.ReadLines(Path.Combine(RepoPaths.Root, "tests", "fixtures", "llamacpp-quants", "mixes.tsv"))
            .Where(l => !l.StartsWith('#')).Select(l => l.Split('\t')).Where(f => f[0] == mix).ToList();
        Assert.Equal(74, rows.Count);
        foreach (string[] f in rows)
        {
            long[] dims = long.Parse(f[3]) > 1 ? [long.Parse(f[2]), long.Parse(f[3])] : [long.Parse(f[2])];
            GgmlType expected = Enum.Parse<GgmlType>(f[4]);
            Assert.True(expected == QuantPlan.TypeFor(scheme, f[1], dims, layerCount: 8, tiedEmbeddings: true, gqa: 2),
                $"{mix} {f[1]}: {QuantPlan.TypeFor(scheme, f[1], dims, 8, true, 2)}, llama.cpp {expected}");
        }
    }
}
