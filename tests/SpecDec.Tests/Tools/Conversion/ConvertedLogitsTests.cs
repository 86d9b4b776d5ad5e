using System.Text.Json.Nodes;
using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Formats.HuggingFace;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Tools.Conversion;

/// <summary>
/// The engine gives the same logits for a Hugging Face folder and its F32 GGUF: the permuted llama Q/K rows
/// with Normal RoPE (and rope_freqs for llama3 scaling) must equal HF's rows with Neox RoPE and RopeScaling.
/// </summary>
public sealed class ConvertedLogitsTests
{
    public static TheoryData<string> Architectures() => ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3"];

    [Theory]
    [MemberData(nameof(Architectures))]
    public void SameLogitsFromBothFormats(string arch)
    {
        var model = arch switch
        {
            "llama" => new TinyHf
            {
                EditConfig = j => j["rope_scaling"] = new JsonObject
                {
                    ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0,
                    ["original_max_position_embeddings"] = 16,
                },
            },
            "mistral" => new TinyHf { Architecture = "MistralForCausalLM" },
            "qwen2" => new TinyHf { Architecture = "Qwen2ForCausalLM", Tied = true },
            // Norms become 1 + w in the GGUF; windows, soft-caps and RoPE bases become gemma keys.
            "gemma2" => new TinyHf { Architecture = "Gemma2ForCausalLM", Tied = true, Layers = 3 },
            "gemma3" => new TinyHf { Architecture = "Gemma3ForCausalLM", Tied = true, Layers = 3, HeadDim = 32,
                EditConfig = j => j["rope_scaling"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 4.0 } },
            _ => new TinyHf { Architecture = "Qwen3ForCausalLM", Tied = true, HeadDim = 32 },
        };
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, arch);
        model.Write(folder);
        string gguf = dir.File(arch + ".gguf");
        GgufConverter.Convert(folder, gguf, GgmlType.F32);

        float[] fromHf = Logits(HfModelSource.Open(folder));
        float[] fromGguf = Logits(GgufModelSource.Open(gguf));
        float scale = fromHf.Max(MathF.Abs);
        for (int i = 0; i < fromHf.Length; i++)
            Assert.True(MathF.Abs(fromHf[i] - fromGguf[i]) <= 1e-4f * scale, $"logit {i}: {fromHf[i]} vs {fromGguf[i]}");
    }

    /// <summary>Logits of every row for 6 tokens at positions 90…95, where RoPE (and its scaling) matters.</summary>
    private static float[] Logits(IModelSource source)
    {
        using Transformer model = Transformer.Load(source, threads: 1);
        IKvCache cache = model.CreateCache(8);
        int[] tokens = [3, 17, 5, 30, 2, 11];
        int[] positions = [90, 91, 92, 93, 94, 95];
        int[] rows = [0, 1, 2, 3, 4, 5];
        var logits = new float[rows.Length * model.Config.VocabSize];
        model.Forward(new ForwardBatch { Tokens = tokens, Positions = positions, LogitRows = rows }, cache, logits);
        return logits;
    }
}
