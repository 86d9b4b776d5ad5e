using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tokenization;
using SpecDec.Tools.Quantization;
using SpecDec.Tools.Synthetic;

namespace SpecDec.Tests.Tools.Synthetic;

public unsafe class SyntheticModelTests
{
    [Fact]
    public void WritesAGgufThatOpensAsTheShapesModel()
    {
        using var dir = new TempDirectory();
        string path = dir.File("llama.gguf");
        SyntheticModel.Write(TinyShapes.Llama, QuantScheme.Q4_K_M, path);

        using GgufModelSource source = GgufModelSource.Open(path);
        ModelConfig c = source.Config;
        Assert.Equal("llama", c.Architecture);
        Assert.Equal((256, 8, 4, 2, 64, 512, 1100), (c.HiddenSize, c.LayerCount, c.HeadCount, c.KvHeadCount, c.HeadDim, c.IntermediateSize, c.VocabSize));
        Assert.Equal(500000f, c.RopeTheta);
        Assert.True(c.TiedEmbeddings);
        Assert.Null(source.Find(TensorNames.Output));
        Assert.Equal(32, source.Find(TensorNames.RopeFreqs)!.Dims[0]);
        Assert.Equal(15u, source.Metadata[GgufKeys.FileType]);

        // Types follow the plan: the tied embedding is the head (Q6_K), attn_v of layer 0 gets more bits, layer 2's does not.
        Assert.Equal(GgmlType.Q6_K, source.Find(TensorNames.TokenEmbedding)!.Type);
        Assert.Equal(GgmlType.Q6_K, source.Find(TensorNames.AttnV(0))!.Type);
        Assert.Equal(GgmlType.Q4_K, source.Find(TensorNames.AttnV(2))!.Type);
        Assert.Equal(GgmlType.F32, source.Find(TensorNames.AttnNorm(3))!.Type);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    public void TheGgufTokenizerLoadsAndRoundTripsText(string arch)
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        ModelShape shape = arch == "llama" ? TinyShapes.Llama : TinyShapes.Qwen2;
        SyntheticModel.Write(shape, QuantScheme.Q8_0, path);
        using GgufModelSource source = GgufModelSource.Open(path);
        // The writer and the reader agree on every key; llama3 scaling travels as the rope_freqs tensor instead.
        Assert.Equal(shape.Config with { RopeScaling = null }, source.Config);
        const string text = "the quick brown fox, 42 times: naïve café";
        int[] ids = source.Tokenizer.Encode(text);
        Assert.Equal(shape.AddBos, ids.Length > 0 && ids[0] == shape.BosTokenId);
        Assert.All(ids, id => Assert.InRange(id, 0, shape.Config.VocabSize - 1));
        // Merged tokens are used (fewer ids than bytes) and decoding gives the text back.
        Assert.True(ids.Length < System.Text.Encoding.UTF8.GetByteCount(text));
        Assert.Equal(text, source.Tokenizer.Decode(ids, skipSpecial: true));
    }

    [Fact]
    public void WeightsHaveTheInitializationScaleAndNormsAreOne()
    {
        using var dir = new TempDirectory();
        string path = dir.File("qwen.gguf");
        SyntheticModel.Write(TinyShapes.Qwen2, QuantScheme.F32, path, seed: 3);
        using GgufFile file = GgufFile.Open(path);
        WeightTensor up = file.Tensors.Single(t => t.Name == TensorNames.FfnUp(1));
        var values = new ReadOnlySpan<float>((void*)up.Data, (int)up.ElementCount);
        double mean = 0, square = 0;
        foreach (float v in values)
        {
            mean += v;
            square += v * (double)v;
        }
        mean /= values.Length;
        double std = Math.Sqrt(square / values.Length - mean * mean);
        Assert.InRange(mean, -0.001, 0.001);
        Assert.InRange(std, 0.0195, 0.0205);
        WeightTensor norm = file.Tensors.Single(t => t.Name == TensorNames.FfnNorm(0));
        Assert.All(new ReadOnlySpan<float>((void*)norm.Data, 96).ToArray(), v => Assert.Equal(1f, v));
        Assert.NotNull(file.Tensors.SingleOrDefault(t => t.Name == TensorNames.AttnKBias(1)));
    }

    [Fact]
    public void TheSameSeedWritesTheSameFile()
    {
        using var dir = new TempDirectory();
        SyntheticModel.Write(TinyShapes.Qwen2, QuantScheme.Q8_0, dir.File("a.gguf"), seed: 7);
        SyntheticModel.Write(TinyShapes.Qwen2, QuantScheme.Q8_0, dir.File("b.gguf"), seed: 7);
        SyntheticModel.Write(TinyShapes.Qwen2, QuantScheme.Q8_0, dir.File("c.gguf"), seed: 8);
        Assert.Equal(File.ReadAllBytes(dir.File("a.gguf")), File.ReadAllBytes(dir.File("b.gguf")));
        Assert.NotEqual(File.ReadAllBytes(dir.File("a.gguf")), File.ReadAllBytes(dir.File("c.gguf")));
    }

    [Fact]
    public void TheVocabularyIsValidByteLevelBpeOfTheEmbeddingsSize()
    {
        SyntheticVocabulary v = SyntheticVocabulary.Build(TinyShapes.Qwen2);
        Assert.Equal(800, v.Tokens.Length);
        Assert.Equal(v.Tokens.Length, v.Tokens.Distinct().Count());
        var ids = v.Tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
        // Every merge joins two earlier tokens into a later one.
        foreach (string merge in v.Merges)
        {
            string[] parts = merge.Split(' ');
            Assert.Equal(2, parts.Length);
            int merged = ids[parts[0] + parts[1]];
            Assert.True(ids[parts[0]] < merged && ids[parts[1]] < merged, merge);
        }
        Assert.Equal(700 - 256, v.Merges.Length);
        Assert.Equal("<|im_end|>", v.Tokens[702]);
        Assert.Equal((int)TokenType.Control, v.TokenTypes[702]);
        Assert.Equal((int)TokenType.Unused, v.TokenTypes[799]);
        // GPT-2's byte alphabet: 'A' is itself, the space byte is 'Ġ' (U+0120).
        Assert.Equal("A", v.Tokens['A']);
        Assert.Equal("\u0120", v.Tokens[' ']);
    }

    [Fact]
    public void RealShapesMatchTheirPublishedSizes()
    {
        // Parameter counts the model cards state: Llama-3.2-1B 1.24 B, 3B 3.21 B, Qwen2.5-0.5B 0.49 B, 1.5B 1.54 B.
        Assert.InRange(ModelShapes.Get("llama-3.2-1b").ParameterCount / 1e9, 1.23, 1.25);
        Assert.InRange(ModelShapes.Get("llama-3.2-3b").ParameterCount / 1e9, 3.20, 3.22);
        Assert.InRange(ModelShapes.Get("qwen2.5-0.5b").ParameterCount / 1e9, 0.49, 0.50);
        Assert.InRange(ModelShapes.Get("qwen2.5-1.5b").ParameterCount / 1e9, 1.53, 1.55);
        Assert.Throws<SpecDecException>(() => ModelShapes.Get("gpt-5"));
    }
}
