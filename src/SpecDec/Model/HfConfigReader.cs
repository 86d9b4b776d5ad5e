using System.Text.Json;
using SpecDec.Formats;
using SpecDec.Formats.HuggingFace;
using SpecDec.Tensors;

namespace SpecDec.Model;

/// <summary>
/// <see cref="ModelConfig"/> from a Hugging Face config.json of LlamaForCausalLM, MistralForCausalLM,
/// Qwen2ForCausalLM or Qwen3ForCausalLM, with transformers' defaults for absent fields. Rope settings come
/// from the classic rope_theta + rope_scaling or from transformers v5's rope_parameters.
/// </summary>
public static class HfConfigReader
{
    /// <summary>Hugging Face architecture → GGUF architecture name (Mistral runs as llama, as in llama.cpp).</summary>
    public static IReadOnlyDictionary<string, string> Architectures { get; } = new Dictionary<string, string>
    {
        ["LlamaForCausalLM"] = "llama",
        ["MistralForCausalLM"] = "llama",
        ["Qwen2ForCausalLM"] = "qwen2",
        ["Qwen3ForCausalLM"] = "qwen3",
    };

    public static ModelConfig Read(string configPath)
    {
        using JsonDocument doc = JsonFields.ParseConfig(configPath);
        return Read(doc.RootElement, configPath);
    }

    public static ModelConfig Read(JsonElement root, string path)
    {
        var f = new JsonFields(path);
        int Require(string name) => f.PositiveInt(f.Required(root, name, name), name);
        int? Optional(string name) => f.OptionalPositiveInt(root, name, name);
        bool Flag(string name) => f.OptionalBool(root, name, name, fallback: false);
        string hfArch = HfArchitecture(root, path);
        string arch = Architectures.TryGetValue(hfArch, out string? a)
            ? a
            : throw new ModelFormatException(path, $"architectures [{hfArch}] is not supported (supported: {string.Join(", ", Architectures.Keys)})");

        string? act = f.OptionalString(root, "hidden_act", "hidden_act");
        if (act is not null and not "silu") throw new ModelFormatException(path, $"hidden_act '{act}' is not supported (silu is)");
        // Llama/Qwen3 attention_bias also puts a bias on o_proj, and mlp_bias on the MLP: neither is in our model.
        if (arch != "qwen2" && Flag("attention_bias")) throw new ModelFormatException(path, "attention_bias = true is not supported");
        if (Flag("mlp_bias")) throw new ModelFormatException(path, "mlp_bias = true is not supported");
        if (Flag("use_sliding_window")) throw new ModelFormatException(path, "use_sliding_window = true is not supported");

        int hidden = Require("hidden_size");
        int heads = Require("num_attention_heads");
        int kvHeads = Optional("num_key_value_heads") ?? heads;
        if (heads % kvHeads != 0)
            throw new ModelFormatException(path, $"num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        int headDim = Optional("head_dim") ?? (hidden % heads == 0
            ? hidden / heads
            : throw new ModelFormatException(path, $"hidden_size {hidden} is not a multiple of num_attention_heads {heads} and head_dim is missing"));
        if (headDim % 2 != 0) throw new ModelFormatException(path, $"head_dim {headDim} is odd; RoPE needs pairs");
        (double theta, RopeScaling? scaling) = ReadRope(f, root, path);

        return new ModelConfig
        {
            Architecture = arch,
            VocabSize = Require("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = Require("intermediate_size"),
            LayerCount = Require("num_hidden_layers"),
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDim = headDim,
            ContextLength = Require("max_position_embeddings"),
            RmsNormEps = (float)(f.OptionalNumber(root, "rms_norm_eps", "rms_norm_eps") ?? 1e-6),
            RopeTheta = (float)theta,
            RopeStyle = RopeStyle.Neox, // HF keeps q/k rows in rotate_half order
            RopeScaling = scaling,
            TiedEmbeddings = Flag("tie_word_embeddings"),
            AttentionBias = arch == "qwen2",
            QkNorm = arch == "qwen3",
        };
    }

    /// <summary>The single entry of "architectures".</summary>
    public static string HfArchitecture(JsonElement root, string path)
    {
        if (!root.TryGetProperty("architectures", out JsonElement list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            throw new ModelFormatException(path, "has no \"architectures\" list, so the model type is unknown");
        if (list.GetArrayLength() != 1 || list[0].ValueKind != JsonValueKind.String)
            throw new ModelFormatException(path, $"architectures {list.GetRawText()} should hold exactly one name");
        return list[0].GetString()!;
    }

    private static (double Theta, RopeScaling? Scaling) ReadRope(JsonFields f, JsonElement root, string path)
    {
        double? RootTheta() => f.OptionalNumber(root, "rope_theta", "rope_theta");
        // transformers v5 moves rope_theta and the scaling into rope_parameters.
        if (f.OptionalObject(root, "rope_parameters", "rope_parameters") is JsonElement p)
            return (f.OptionalNumber(p, "rope_theta", "rope_parameters.rope_theta") ?? RootTheta() ?? 10000, ReadScaling(f, p, "rope_parameters", path));
        return (RootTheta() ?? 10000, f.OptionalObject(root, "rope_scaling", "rope_scaling") is JsonElement s ? ReadScaling(f, s, "rope_scaling", path) : null);
    }

    private static RopeScaling? ReadScaling(JsonFields f, JsonElement s, string field, string path)
    {
        string type = f.OptionalString(s, "rope_type", $"{field}.rope_type") ?? f.OptionalString(s, "type", $"{field}.type") ?? "default";
        if (type == "default") return null;
        if (type != "llama3") throw new ModelFormatException(path, $"rope scaling type '{type}' is not supported (default and llama3 are)");
        float Number(string name) => (float)f.Number(f.Required(s, name, $"{field}.{name}"), $"{field}.{name}");
        var scaling = new RopeScaling(
            Number("factor"),
            Number("low_freq_factor"),
            Number("high_freq_factor"),
            f.PositiveInt(f.Required(s, "original_max_position_embeddings", $"{field}.original_max_position_embeddings"), $"{field}.original_max_position_embeddings"));
        if (scaling.Factor <= 0 || scaling.LowFreqFactor <= 0 || scaling.HighFreqFactor <= scaling.LowFreqFactor)
            throw new ModelFormatException(path, $"llama3 rope scaling needs factor > 0 and 0 < low_freq_factor < high_freq_factor, found {scaling}");
        return scaling;
    }
}
