using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tests.Formats.HuggingFace;

/// <summary>The transformers-made fixture checkpoints open with the config make_fixtures.py gave them.</summary>
public sealed class HfFixtureTests
{
    /// <summary>What every fixture shares (make_fixtures.py's make_model "common").</summary>
    private static ModelConfig Common(string arch, int vocab) => new()
    {
        Architecture = arch, VocabSize = vocab, HiddenSize = 64, IntermediateSize = 172, LayerCount = 2, HeadCount = 4,
        KvHeadCount = 2, HeadDim = 16, ContextLength = 256, RmsNormEps = 1e-5f, RopeTheta = 10000f, RopeStyle = RopeStyle.Neox,
    };

    public static TheoryData<string> Llamas() => ["llama-f32", "llama-f16", "llama-bf16", "llama-sharded"];

    [Theory]
    [MemberData(nameof(Llamas))]
    public void LlamaHasLlama3RopeScaling(string name)
    {
        using var source = (HfModelSource)ModelSource.Open(ModelFixtures.Dir(name));
        Assert.Equal(Common("llama", 1000) with { RopeScaling = new RopeScaling(8f, 1f, 4f, 64) }, source.Config);
        GgmlType expected = name switch { "llama-f16" => GgmlType.F16, "llama-bf16" => GgmlType.BF16, _ => GgmlType.F32 };
        Assert.All(source.Tensors, t => Assert.Equal(expected, t.Type));
        Assert.Equal([64L, 1000L], source.Find(TensorNames.Output)!.Dims);
    }

    [Fact]
    public void ShardedLlamaSpreadsOverSeveralFilesWithTheSameTensors()
    {
        using var sharded = (HfModelSource)ModelSource.Open(ModelFixtures.Dir("llama-sharded"));
        using var single = (HfModelSource)ModelSource.Open(ModelFixtures.Dir("llama-f32"));
        Assert.Matches(@"^safetensors \([23] shards\)$", sharded.FormatName);
        Assert.Equal(single.Tensors.Select(t => t.Name).Order(), sharded.Tensors.Select(t => t.Name).Order());
        foreach (WeightTensor t in single.Tensors)
        {
            WeightTensor s = sharded.Find(t.Name)!;
            Assert.Equal(t.Dims, s.Dims);
            Assert.True(Bytes(t).SequenceEqual(Bytes(s)), t.Name);
        }
    }

    [Fact]
    public void MistralRunsAsLlamaWithoutScaling()
    {
        using IModelSource source = ModelSource.Open(ModelFixtures.Dir("mistral-f32"));
        Assert.Equal(Common("llama", 1000), source.Config);
    }

    [Fact]
    public void Qwen2HasBiasesTiedEmbeddingsAndPaddedVocabulary()
    {
        using IModelSource source = ModelSource.Open(ModelFixtures.Dir("qwen2-f32"));
        Assert.Equal(Common("qwen2", 1088) with { RopeTheta = 1e6f, TiedEmbeddings = true, AttentionBias = true }, source.Config);
        Assert.Null(source.Find(TensorNames.Output));
        Assert.Equal([64L, 1088L], source.Find(TensorNames.TokenEmbedding)!.Dims); // 88 rows past the 1000-token vocabulary
        Assert.Equal([32L], source.Find(TensorNames.AttnKBias(1))!.Dims);
    }

    [Fact]
    public void Qwen3HasExplicitHeadDimAndQkNorms()
    {
        using IModelSource source = ModelSource.Open(ModelFixtures.Dir("qwen3-bf16"));
        Assert.Equal(Common("qwen3", 1000) with { HeadDim = 32, RopeTheta = 1e6f, TiedEmbeddings = true, QkNorm = true }, source.Config);
        Assert.Equal([64L, 128L], source.Find(TensorNames.AttnQ(0))!.Dims); // 4 heads × 32 ≠ hidden 64
        Assert.Equal([32L], source.Find(TensorNames.AttnKNorm(1))!.Dims);
        Assert.Equal(GgmlType.BF16, source.Find(TensorNames.FfnDown(0))!.Type);
    }

    private static unsafe byte[] Bytes(WeightTensor t) => new ReadOnlySpan<byte>((void*)t.Data, (int)t.ByteLength).ToArray();
}
