using SpecDec.Formats;
using SpecDec.Formats.HuggingFace;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tests.Formats.HuggingFace;

public sealed class HfModelSourceTests
{
    [Theory]
    [InlineData("F32", 1)]
    [InlineData("F16", 1)]
    [InlineData("BF16", 3)]
    public unsafe void MapsEveryTensorToItsCanonicalName(string dtype, int shards)
    {
        using var dir = new TempDirectory();
        var model = new TinyHf { Dtype = dtype, Shards = shards };
        Dictionary<string, float[]> values = model.Write(dir.Path);
        using HfModelSource source = HfModelSource.Open(dir.Path);

        Assert.Equal(shards == 1 ? "safetensors" : $"safetensors ({shards} shards)", source.FormatName);
        Assert.Equal(values.Count, source.Tensors.Count);
        WeightTensor q = source.Find("blk.1.attn_q.weight")!;
        Assert.Equal([64L, 64L], q.Dims);
        Assert.Equal(Enum.Parse<GgmlType>(dtype), q.Type);
        WeightTensor k = source.Find("blk.0.attn_k.weight")!;
        Assert.Equal([64L, 32L], k.Dims); // PyTorch [32, 64]
        Assert.Equal([64L, 40L], source.Find(TensorNames.Output)!.Dims);
        Assert.Equal([96L, 64L], source.Find(TensorNames.FfnDown(1))!.Dims);

        // Same bytes as written: row 3 of the embedding.
        WeightTensor embd = source.Find(TensorNames.TokenEmbedding)!;
        float[] expected = values["model.embed_tokens.weight"].AsSpan(3 * 64, 64).ToArray();
        float[] actual = new float[64];
        ReadOnlySpan<byte> row = embd.RowSpan(3);
        for (int i = 0; i < 64; i++)
        {
            actual[i] = dtype switch
            {
                "F32" => BitConverter.ToSingle(row.Slice(i * 4, 4)),
                "F16" => (float)BitConverter.ToHalf(row.Slice(i * 2, 2)),
                _ => BitConverter.UInt32BitsToSingle((uint)BitConverter.ToUInt16(row.Slice(i * 2, 2)) << 16),
            };
        }
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void TiedCheckpointHasNoOutputTensor()
    {
        using var dir = new TempDirectory();
        new TinyHf { Architecture = "Qwen2ForCausalLM", Tied = true }.Write(dir.Path);
        using HfModelSource source = HfModelSource.Open(Path.Combine(dir.Path, "config.json"));
        Assert.True(source.Config.TiedEmbeddings);
        Assert.Null(source.Find(TensorNames.Output));
        Assert.NotNull(source.Find(TensorNames.AttnVBias(1)));
    }

    [Fact]
    public void PaddedVocabularyRowsAreAllowed()
    {
        // Qwen2 pads embedding rows past the tokenizer; config vocab_size counts the rows.
        using var dir = new TempDirectory();
        new TinyHf { Architecture = "Qwen2ForCausalLM", Vocab = 64, Tied = true }.Write(dir.Path);
        using HfModelSource source = HfModelSource.Open(dir.Path);
        Assert.Equal(64, source.Config.VocabSize);
    }

    public static TheoryData<string, TinyHf, string> Refusals() => new()
    {
        { "missing", new TinyHf { EditTensor = (n, s) => n == "model.layers.1.mlp.up_proj.weight" ? null : s }, "missing tensor model.layers.1.mlp.up_proj.weight" },
        { "missing head", new TinyHf { EditTensor = (n, s) => n == "lm_head.weight" ? null : s }, "missing tensor lm_head.weight" },
        { "shape", new TinyHf { EditTensor = (n, s) => n == "model.layers.0.self_attn.k_proj.weight" ? [64, 64] : s },
            "tensor model.layers.0.self_attn.k_proj.weight has shape [64, 64], but the config implies [32, 64]" },
        { "vocab", new TinyHf { EditConfig = j => j["vocab_size"] = 50 }, "tensor model.embed_tokens.weight has shape [40, 64], but the config implies [50, 64]" },
        { "qwen3 head_dim", new TinyHf { Architecture = "Qwen3ForCausalLM", HeadDim = 32, EditConfig = j => j.Remove("head_dim") },
            "tensor model.layers.0.self_attn.q_proj.weight has shape [128, 64], but the config implies [64, 64]" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void RefusesNamingTensorAndShapes(string name, TinyHf model, string expected)
    {
        using var dir = new TempDirectory();
        model.Write(dir.Path);
        var e = Assert.Throws<ModelFormatException>(() => HfModelSource.Open(dir.Path).Dispose());
        Assert.Equal(dir.Path, e.FilePath);
        Assert.True(e.Message.Contains(expected), $"{name}: {e.Message}");
    }

    [Fact]
    public void RefusesUnknownTensorNames()
    {
        using var dir = new TempDirectory();
        new TinyHf().Write(dir.Path);
        string extra = Path.Combine(dir.Path, "model.safetensors");
        // Replace the checkpoint with one holding an extra, unknown tensor.
        var entries = new TinyHf().Tensors().Select(t => (t.Name, "F32", t.Shape, new byte[t.Shape.Aggregate(4L, (a, b) => a * b)])).ToList();
        entries.Add(("model.layers.0.mlp.experts.0.weight", "F32", [2L], new byte[8]));
        entries.Add(("model.layers.0.self_attn.rotary_emb.inv_freq", "F32", [8L], new byte[32])); // ignorable buffer
        File.WriteAllBytes(extra, SafetensorsBytes.Build(entries));
        var e = Assert.Throws<ModelFormatException>(() => HfModelSource.Open(dir.Path).Dispose());
        Assert.Equal(extra, e.FilePath);
        Assert.Contains("unexpected tensor model.layers.0.mlp.experts.0.weight", e.Message);
    }

    [Fact]
    public void ShardIndexMustMatchTheShards()
    {
        using var dir = new TempDirectory();
        new TinyHf { Shards = 2 }.Write(dir.Path);
        string index = Path.Combine(dir.Path, "model.safetensors.index.json");
        string text = File.ReadAllText(index);

        var moved = System.Text.Json.Nodes.JsonNode.Parse(text)!;
        moved["weight_map"]!["model.norm.weight"] = "model-00001-of-00002.safetensors"; // it lives in shard 2
        File.WriteAllText(index, moved.ToJsonString());
        var e = Assert.Throws<ModelFormatException>(() => HfModelSource.Open(dir.Path).Dispose());
        Assert.Contains("tensor model.norm.weight is not listed for this shard", e.Message);

        File.WriteAllText(index, text.Replace("model-00002-of-00002.safetensors", "../elsewhere.safetensors"));
        e = Assert.Throws<ModelFormatException>(() => HfModelSource.Open(dir.Path).Dispose());
        Assert.Equal(index, e.FilePath);
        Assert.Contains("not a file in the folder", e.Message);

        File.WriteAllText(index, text);
        File.Delete(Path.Combine(dir.Path, "model-00002-of-00002.safetensors"));
        e = Assert.Throws<ModelFormatException>(() => HfModelSource.Open(dir.Path).Dispose());
        Assert.Contains("shard model-00002-of-00002.safetensors is missing", e.Message);
    }

    [Fact]
    public void FolderWithoutWeightsSaysWhatIsMissing()
    {
        using var dir = new TempDirectory();
        new TinyHf().Write(dir.Path);
        File.Move(Path.Combine(dir.Path, "model.safetensors"), Path.Combine(dir.Path, "pytorch_model.bin"));
        var e = Assert.Throws<ModelFormatException>(() => HfModelSource.Open(dir.Path).Dispose());
        Assert.Contains("no model.safetensors or model.safetensors.index.json in the folder (PyTorch .bin checkpoints are not supported", e.Message);
    }

    [Fact]
    public void ModelSourceOpenDispatchesOnWhatItIsGiven()
    {
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, "hf");
        new TinyHf().Write(folder);
        using (IModelSource s = ModelSource.Open(folder)) Assert.IsType<HfModelSource>(s);
        using (IModelSource s = ModelSource.Open(Path.Combine(folder, "config.json"))) Assert.IsType<HfModelSource>(s);

        string gguf = dir.File("m.bin");
        new TinyGguf().Write(gguf); // the magic decides, not the extension
        using (IModelSource s = ModelSource.Open(gguf)) Assert.IsType<GgufModelSource>(s);

        var e = Assert.Throws<ModelFormatException>(() => ModelSource.Open(Path.Combine(folder, "model.safetensors")));
        Assert.Contains("a .safetensors file has no config: pass the folder", e.Message);
        e = Assert.Throws<ModelFormatException>(() => ModelSource.Open(dir.Write("broken.gguf", [0x47, 0x47])));
        Assert.Contains("truncated", e.Message);
        e = Assert.Throws<ModelFormatException>(() => ModelSource.Open(dir.Write("notes.txt", "hello"u8.ToArray())));
        Assert.Contains("not a GGUF file or a Hugging Face model folder", e.Message);
        Assert.Throws<FileNotFoundException>(() => ModelSource.Open(dir.File("absent.gguf")));
        var noConfig = Assert.Throws<ModelFormatException>(() => ModelSource.Open(dir.Path));
        Assert.Contains("no config.json: not a Hugging Face model folder", noConfig.Message);
    }
}
