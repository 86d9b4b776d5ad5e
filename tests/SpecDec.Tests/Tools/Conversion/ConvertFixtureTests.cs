using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Formats.HuggingFace;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Tools.Conversion;

/// <summary>Each transformers fixture converts to a GGUF that loads back as the same model.</summary>
public sealed class ConvertFixtureTests
{
    public static TheoryData<string, GgmlType> Cases() => new()
    {
        { "llama-f32", GgmlType.F32 },
        { "llama-f32", GgmlType.Q8_0 },
        { "llama-f16", GgmlType.F16 },
        { "llama-bf16", GgmlType.BF16 },
        { "llama-sharded", GgmlType.F16 },
        { "mistral-f32", GgmlType.F32 },
        { "mistral-f32", GgmlType.BF16 },
        { "qwen2-f32", GgmlType.F32 },
        { "qwen2-f32", GgmlType.Q8_0 },
        { "qwen3-bf16", GgmlType.F32 },
        { "qwen3-bf16", GgmlType.Q8_0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ConvertsToTheSameModel(string name, GgmlType type)
    {
        using var dir = new TempDirectory();
        string output = dir.File(name + ".gguf");
        GgufConverter.Convert(ModelFixtures.Dir(name), output, type);
        using HfModelSource hf = HfModelSource.Open(ModelFixtures.Dir(name));
        using GgufModelSource gguf = GgufModelSource.Open(output);
        ConvertedModel.AssertSame(hf, gguf, type);
        Assert.Equal(name, gguf.Metadata[GgufKeys.Name]);
    }
}
