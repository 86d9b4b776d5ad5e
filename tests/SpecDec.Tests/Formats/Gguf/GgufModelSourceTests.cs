using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tests.Formats.Gguf;

/// <summary>ModelConfig and tensors from GGUF files laid out as llama.cpp's converter writes them.</summary>
public sealed class GgufModelSourceTests
{
    private static GgufModelSource Open(TinyGguf model, TempDirectory dir, string name = "m.gguf")
    {
        string path = dir.File(name);
        model.Write(path);
        return GgufModelSource.Open(path);
    }

    [Fact]
    public void LlamaConfigFromArchKeys()
    {
        using var dir = new TempDirectory();
        using GgufModelSource source = Open(new TinyGguf { RopeFreqs = true }, dir);
        ModelConfig c = source.Config;
        Assert.Equal(new ModelConfig
        {
            Architecture = "llama", VocabSize = 40, HiddenSize = 64, IntermediateSize = 96, LayerCount = 2, HeadCount = 4,
            KvHeadCount = 2, HeadDim = 16, ContextLength = 256, RmsNormEps = 1e-6f, RopeTheta = 500000f,
            RopeStyle = RopeStyle.Normal, RopeScaling = null, TiedEmbeddings = false, AttentionBias = false, QkNorm = false,
        }, c);
        Assert.Equal("GGUF v3", source.FormatName);
        WeightTensor freqs = Assert.IsType<WeightTensor>(source.Find(TensorNames.RopeFreqs));
        Assert.Equal([8L], freqs.Dims);
        WeightTensor q = source.Find(TensorNames.AttnQ(1))!;
        Assert.Equal([64L, 64L], q.Dims);
        Assert.Equal(GgmlType.F32, q.Type);
        Assert.Equal(64 * 64 * 4, q.ByteLength);
    }

    [Fact]
    public void Qwen2IsNeoxTiedWithBiases()
    {
        using var dir = new TempDirectory();
        using GgufModelSource source = Open(new TinyGguf { Arch = "qwen2", Tied = true, Bias = true }, dir);
        Assert.Equal("qwen2", source.Config.Architecture);
        Assert.Equal(RopeStyle.Neox, source.Config.RopeStyle);
        Assert.True(source.Config.TiedEmbeddings);
        Assert.True(source.Config.AttentionBias);
        Assert.False(source.Config.QkNorm);
        Assert.Null(source.Find(TensorNames.Output));
    }

    [Fact]
    public void Qwen3HeadDimComesFromKeyLength()
    {
        using var dir = new TempDirectory();
        using GgufModelSource source = Open(new TinyGguf { Arch = "qwen3", KeyLength = 32, QkNorm = true, Tied = true }, dir);
        Assert.Equal(32, source.Config.HeadDim);
        Assert.Equal(4, source.Config.HeadCount);
        Assert.True(source.Config.QkNorm);
        Assert.Equal(RopeStyle.Neox, source.Config.RopeStyle);
        Assert.Equal([64L, 128L], source.Find(TensorNames.AttnQ(0))!.Dims);
    }

    [Fact]
    public void VocabularyComesFromEmbeddingRowsWithoutTheKey()
    {
        using var dir = new TempDirectory();
        using GgufModelSource source = Open(new TinyGguf { WriteVocabSizeKey = false, Vocab = 48 }, dir);
        Assert.Equal(48, source.Config.VocabSize);
    }

    public static TheoryData<string, TinyGguf, string> Refusals() => new()
    {
        { "arch", new TinyGguf { EditMetadata = m => m[GgufKeys.Architecture] = "gpt2" }, "architecture 'gpt2' is not supported (supported: llama, qwen2, qwen3, gemma2, gemma3, phi3, qwen3moe, olmoe)" },
        { "missing key", new TinyGguf { EditMetadata = m => m.Remove("llama.block_count") }, "metadata key 'llama.block_count' is missing" },
        { "string for int", new TinyGguf { EditMetadata = m => m["llama.block_count"] = "2" }, "metadata key 'llama.block_count' must be an integer, not String" },
        { "zero", new TinyGguf { EditMetadata = m => m["llama.attention.head_count"] = 0u }, "metadata key 'llama.attention.head_count' is 0, out of range" },
        { "gqa", new TinyGguf { EditMetadata = m => m["llama.attention.head_count_kv"] = 3u }, "head_count 4 is not a multiple of llama.attention.head_count_kv 3" },
        { "partial rope", new TinyGguf { EditMetadata = m => m["llama.rope.dimension_count"] = 8u }, "partial rotary embeddings are not supported" },
        { "yarn", new TinyGguf { EditMetadata = m => m["llama.rope.scaling.type"] = "yarn" }, "llama.rope.scaling.type = yarn is not supported" },
        { "iq2_xs", new TinyGguf { EditTensor = (n, d) => (d, n == "blk.0.attn_q.weight" ? GgmlType.IQ2_XS : GgmlType.F32), Hidden = 256, Heads = 4, KvHeads = 4 },
            "tensor blk.0.attn_q.weight has type IQ2_XS, which this version cannot run yet" },
        { "missing tensor", new TinyGguf { EditTensor = (n, d) => n == "blk.1.ffn_up.weight" ? null : (d, GgmlType.F32) }, "missing tensor blk.1.ffn_up.weight" },
        { "shape", new TinyGguf { EditTensor = (n, d) => n == "blk.0.attn_k.weight" ? ([64, 64], GgmlType.F32) : (d, GgmlType.F32) },
            "tensor blk.0.attn_k.weight has shape [64, 64], but the config implies [64, 32]" },
        { "vocab key vs rows", new TinyGguf { EditMetadata = m => m["llama.vocab_size"] = 41u }, "tensor token_embd.weight has shape [64, 40], but the config implies [64, 41]" },
        { "rope freqs", new TinyGguf { RopeFreqs = true, EditTensor = (n, d) => n == TensorNames.RopeFreqs ? ([16], GgmlType.F32) : (d, GgmlType.F32) },
            "tensor rope_freqs.weight has shape [16], but the config implies [8]" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void RefusesNamingTheFile(string name, TinyGguf model, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File(name.Replace(' ', '-') + ".gguf");
        model.Write(path);
        var e = Assert.Throws<ModelFormatException>(() => GgufModelSource.Open(path).Dispose());
        Assert.Equal(path, e.FilePath);
        Assert.Contains(expected, e.Message);
    }
}
