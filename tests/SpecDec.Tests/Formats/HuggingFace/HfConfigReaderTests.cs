using System.Text.Json;
using System.Text.Json.Nodes;
using SpecDec.Formats.HuggingFace;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tests.Formats.HuggingFace;

public sealed class HfConfigReaderTests
{
    private static ModelConfig Read(JsonObject config)
    {
        using JsonDocument doc = JsonDocument.Parse(config.ToJsonString());
        return HfConfigReader.Read(doc.RootElement, "config.json");
    }

    [Fact]
    public void LlamaWithLlama3RopeScaling()
    {
        ModelConfig c = Read(new TinyHf
        {
            EditConfig = j => j["rope_scaling"] = new JsonObject
            {
                ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0,
                ["original_max_position_embeddings"] = 128,
            },
        }.Config());
        Assert.Equal(new ModelConfig
        {
            Architecture = "llama", VocabSize = 40, HiddenSize = 64, IntermediateSize = 96, LayerCount = 2, HeadCount = 4, KvHeadCount = 2,
            HeadDim = 16, ContextLength = 512, RmsNormEps = 1e-5f, RopeTheta = 10000f, RopeStyle = RopeStyle.Neox,
            RopeScaling = new RopeScaling(8f, 1f, 4f, 128), TiedEmbeddings = false, AttentionBias = false, QkNorm = false,
        }, c);
    }

    [Fact]
    public void TransformersV5RopeParameters()
    {
        ModelConfig c = Read(new TinyHf
        {
            EditConfig = j =>
            {
                j.Remove("rope_theta");
                j["rope_parameters"] = new JsonObject
                {
                    ["rope_type"] = "llama3", ["rope_theta"] = 500000.0, ["factor"] = 32.0, ["low_freq_factor"] = 1.0,
                    ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 8192,
                };
            },
        }.Config());
        Assert.Equal(500000f, c.RopeTheta);
        Assert.Equal(new RopeScaling(32f, 1f, 4f, 8192), c.RopeScaling);

        ModelConfig plain = Read(new TinyHf { EditConfig = j => j["rope_parameters"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 1e6 } }.Config());
        Assert.Equal(1e6f, plain.RopeTheta);
        Assert.Null(plain.RopeScaling);
    }

    [Fact]
    public void MistralRunsAsLlama()
    {
        ModelConfig c = Read(new TinyHf { Architecture = "MistralForCausalLM", EditConfig = j => j["sliding_window"] = 4096 }.Config());
        Assert.Equal("llama", c.Architecture);
        Assert.Equal(RopeStyle.Neox, c.RopeStyle);
    }

    [Fact]
    public void Qwen2HasBiasesAndTiedEmbeddings()
    {
        ModelConfig c = Read(new TinyHf { Architecture = "Qwen2ForCausalLM", Tied = true, EditConfig = j => j["use_sliding_window"] = false }.Config());
        Assert.Equal("qwen2", c.Architecture);
        Assert.True(c.AttentionBias);
        Assert.True(c.TiedEmbeddings);
        Assert.False(c.QkNorm);
    }

    [Fact]
    public void Qwen3HeadDimIsExplicit()
    {
        ModelConfig c = Read(new TinyHf { Architecture = "Qwen3ForCausalLM", HeadDim = 32, EditConfig = j => j["attention_bias"] = false }.Config());
        Assert.Equal("qwen3", c.Architecture);
        Assert.Equal(32, c.HeadDim);
        Assert.True(c.QkNorm);
        Assert.False(c.AttentionBias);
    }

    [Fact]
    public void DefaultsFollowTransformers()
    {
        ModelConfig c = Read(new TinyHf
        {
            EditConfig = j =>
            {
                foreach (string k in new[] { "num_key_value_heads", "rms_norm_eps", "rope_theta", "tie_word_embeddings", "hidden_act" }) j.Remove(k);
                j["head_dim"] = null;
            },
        }.Config());
        Assert.Equal(4, c.KvHeadCount);
        Assert.Equal(16, c.HeadDim);
        Assert.Equal(1e-6f, c.RmsNormEps);
        Assert.Equal(10000f, c.RopeTheta);
        Assert.False(c.TiedEmbeddings);
    }

    public static TheoryData<string, Action<JsonObject>, string> Refusals() => new()
    {
        { "arch", j => j["architectures"] = new JsonArray("GPT2LMHeadModel"), "architectures [GPT2LMHeadModel] is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM, Phi3ForCausalLM, MixtralForCausalLM, Qwen3MoeForCausalLM, OlmoeForCausalLM)" },
        { "no arch", j => j.Remove("architectures"), "has no \"architectures\" list" },
        { "yarn", j => j["rope_scaling"] = new JsonObject { ["type"] = "yarn", ["factor"] = 4.0 }, "rope scaling type 'yarn' is not supported" },
        { "llama3 incomplete", j => j["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0 }, "field 'rope_scaling.low_freq_factor' is missing" },
        { "missing", j => j.Remove("hidden_size"), "field 'hidden_size' is missing" },
        { "wrong type", j => j["num_hidden_layers"] = "2", "field 'num_hidden_layers' must be a positive integer, not \"2\"" },
        { "act", j => j["hidden_act"] = "gelu", "hidden_act 'gelu' is not supported" },
        { "bias", j => j["attention_bias"] = true, "attention_bias = true is not supported" },
        { "gqa", j => j["num_key_value_heads"] = 3, "num_attention_heads 4 is not a multiple of num_key_value_heads 3" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void RefusesNamingTheField(string name, Action<JsonObject> edit, string expected)
    {
        var e = Assert.Throws<ModelFormatException>(() => Read(new TinyHf { EditConfig = edit }.Config()));
        Assert.Equal("config.json", e.FilePath);
        Assert.True(e.Message.Contains(expected), $"{name}: {e.Message}");
    }
}
