using System.Text.Json.Nodes;
using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Tools.Conversion;

/// <summary>HF folder → GGUF → GgufModelSource gives the same model: config, and every tensor as the type rounds it.</summary>
public sealed class GgufConverterTests
{
    private static readonly JsonObject Llama3Scaling = new()
    {
        ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 64,
    };

    private static TinyHf Model(string arch, string dtype) => arch switch
    {
        "llama" => new TinyHf { Dtype = dtype, EditConfig = j => j["rope_scaling"] = Llama3Scaling.DeepClone() },
        "mistral" => new TinyHf { Architecture = "MistralForCausalLM", Dtype = dtype },
        "qwen2" => new TinyHf { Architecture = "Qwen2ForCausalLM", Dtype = dtype, Tied = true, Vocab = 48 },
        "qwen3" => new TinyHf { Architecture = "Qwen3ForCausalLM", Dtype = dtype, Tied = true, HeadDim = 32 },
        _ => throw new ArgumentException(arch),
    };

    [Theory]
    [InlineData("llama", "F32", GgmlType.F32)]
    [InlineData("llama", "F32", GgmlType.F16)]
    [InlineData("llama", "F32", GgmlType.BF16)]
    [InlineData("llama", "F32", GgmlType.Q8_0)]
    [InlineData("llama", "BF16", GgmlType.BF16)]
    [InlineData("llama", "F16", GgmlType.F16)]
    [InlineData("mistral", "F32", GgmlType.F32)]
    [InlineData("qwen2", "F32", GgmlType.F32)]
    [InlineData("qwen2", "F16", GgmlType.Q8_0)]
    [InlineData("qwen3", "BF16", GgmlType.F32)]
    [InlineData("qwen3", "F32", GgmlType.F16)]
    public void ConvertedModelLoadsBackTheSame(string arch, string dtype, GgmlType type)
    {
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, arch);
        Dictionary<string, float[]> hf = Model(arch, dtype).Write(folder); // stored values, by PyTorch name
        string output = dir.File("out.gguf");
        GgufConverter.Convert(folder, output, type);

        using HfModelSource source = HfModelSource.Open(folder);
        using GgufModelSource gguf = GgufModelSource.Open(output);
        ConvertedModel.AssertSame(source, gguf, type);
        Assert.Equal(32u, gguf.Metadata[GgufKeys.Alignment]);
        Assert.Equal(arch, gguf.Metadata[GgufKeys.Name]);
        // The test's own values (written by TinyHf) agree with what the HF reader maps: one spot check.
        Assert.Equal(hf["model.norm.weight"], GgmlValues.Read(gguf.Find(TensorNames.OutputNorm)!));
    }

    [Fact]
    public void Q8_0FallsBackToF16ForRowsThatAreNotWholeBlocks()
    {
        using var dir = new TempDirectory();
        Dictionary<string, float[]> hf = new TinyHf { Intermediate = 40 }.Write(dir.Path);
        string output = dir.File("q8.gguf");
        GgufConverter.Convert(dir.Path, output, GgmlType.Q8_0);
        using GgufModelSource gguf = GgufModelSource.Open(output);
        WeightTensor down = gguf.Find(TensorNames.FfnDown(0))!; // rows of 40
        Assert.Equal(GgmlType.F16, down.Type);
        Assert.Equal(GgmlValues.Rounded(hf["model.layers.0.mlp.down_proj.weight"], GgmlType.F16), GgmlValues.Read(down));
        Assert.Equal(GgmlType.Q8_0, gguf.Find(TensorNames.FfnUp(0))!.Type); // rows of 64
    }

    [Fact]
    public void RefusesTypesItCannotWrite()
    {
        using var dir = new TempDirectory();
        new TinyHf().Write(dir.Path);
        var e = Assert.Throws<SpecDecException>(() => GgufConverter.Convert(dir.Path, dir.File("x.gguf"), GgmlType.Q4_K));
        Assert.Contains("cannot convert to Q4_K", e.Message);
        Assert.False(File.Exists(dir.File("x.gguf")));
    }

    [Fact]
    public void RefusesATokenizerGenerateWouldRefuseWithTheLoadersError()
    {
        using var dir = new TempDirectory();
        JsonObject tokenizer = TinyHf.TokenizerJson();
        tokenizer["model"]!["merges"]!.AsArray().Add("a zz"); // "zz" is no token
        string folder = Path.Combine(dir.Path, "m");
        new TinyHf { Tokenizer = tokenizer }.Write(folder);
        string output = dir.File("out.gguf");

        var e = Assert.Throws<ModelFormatException>(() => GgufConverter.Convert(folder, output, GgmlType.F32));
        using HfModelSource source = HfModelSource.Open(folder);
        Assert.Equal(Assert.Throws<ModelFormatException>(() => source.Tokenizer).Message, e.Message);
        Assert.Contains("zz", e.Message);
        Assert.False(File.Exists(output));
    }
}
