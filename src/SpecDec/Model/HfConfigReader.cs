using System.Text.Json;
using SpecDec.Formats;
using SpecDec.Formats.HuggingFace;
using SpecDec.Tensors;

namespace SpecDec.Model;

/// <summary>
/// <see cref="ModelConfig"/> from a Hugging Face config.json of one of <see cref="Architectures"/>, with
/// transformers' defaults for absent fields. Rope settings come
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
        ["Gemma2ForCausalLM"] = "gemma2",
        ["Gemma3ForCausalLM"] = "gemma3",
        ["Phi3ForCausalLM"] = "phi3",
        ["MixtralForCausalLM"] = "llama",
        ["Qwen3MoeForCausalLM"] = "qwen3moe",
        ["OlmoeForCausalLM"] = "olmoe",
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

        bool gemma = arch.StartsWith("gemma", StringComparison.Ordinal);
        // Gemma names it hidden_activation (hidden_act is a leftover some configs also carry).
        string actField = gemma && root.TryGetProperty("hidden_activation", out _) ? "hidden_activation" : "hidden_act";
        string? act = f.OptionalString(root, actField, actField);
        var activation = (act ?? (gemma ? "gelu_pytorch_tanh" : "silu")) switch
        {
            "silu" => FfnActivation.Silu,
            "gelu_pytorch_tanh" => FfnActivation.GeluTanh,
            _ => throw new ModelFormatException(path, $"{actField} '{act}' is not supported (silu and gelu_pytorch_tanh are)"),
        };
        // Llama/Qwen3 attention_bias also puts a bias on o_proj, and mlp_bias on the MLP: neither is in our model.
        if (arch != "qwen2" && Flag("attention_bias")) throw new ModelFormatException(path, "attention_bias = true is not supported");
        if (Flag("mlp_bias")) throw new ModelFormatException(path, "mlp_bias = true is not supported");
        if (!gemma && Flag("use_sliding_window")) throw new ModelFormatException(path, "use_sliding_window = true is not supported");

        int hidden = Require("hidden_size");
        int heads = Require("num_attention_heads");
        int kvHeads = Optional("num_key_value_heads") ?? heads;
        if (heads % kvHeads != 0)
            throw new ModelFormatException(path, $"num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        int headDim = Optional("head_dim") ?? (hidden % heads == 0
            ? hidden / heads
            : throw new ModelFormatException(path, $"hidden_size {hidden} is not a multiple of num_attention_heads {heads} and head_dim is missing"));
        if (headDim % 2 != 0) throw new ModelFormatException(path, $"head_dim {headDim} is odd; RoPE needs pairs");
        (double theta, RopeScaling? scaling, float linear) = ReadRope(f, root, path);
        if (RopeParameters(f, root) is JsonElement rp && f.OptionalNumber(rp, "partial_rotary_factor", "rope_parameters.partial_rotary_factor") is double partial && partial != 1)
            throw new ModelFormatException(path, $"partial_rotary_factor {partial} is not supported (partial rotary embeddings)");
        if (f.OptionalNumber(root, "partial_rotary_factor", "partial_rotary_factor") is double rootPartial && rootPartial != 1)
            throw new ModelFormatException(path, $"partial_rotary_factor {rootPartial} is not supported (partial rotary embeddings)");

        var config = new ModelConfig
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
            RopeLinearFactor = linear,
            TiedEmbeddings = Flag("tie_word_embeddings"),
            AttentionBias = arch == "qwen2",
            QkNorm = arch is "qwen3" or "gemma3" or "qwen3moe" or "olmoe",
            QkNormWhole = arch == "olmoe",
            FusedQkv = arch == "phi3",
            FusedGateUp = arch == "phi3",
            Activation = activation,
        };
        if (LongRope(f, root, config.ContextLength) is { } longRope)
            config = config with { RopeAttentionFactor = longRope.AttentionFactor, RopeOriginalContext = longRope.OriginalContext };
        config = Experts(config, f, root, hfArch);
        return gemma ? Gemma(config, f, root, arch) : config;
    }

    /// <summary>
    /// Mixture-of-experts fields: Mixtral (num_local_experts, always renormalised top-k), Qwen3-MoE (num_experts,
    /// moe_intermediate_size, norm_topk_prob; every layer sparse) and OLMoE (num_experts, norm_topk_prob, no clip_qkv).
    /// </summary>
    private static ModelConfig Experts(ModelConfig c, JsonFields f, JsonElement root, string hfArch)
    {
        if (hfArch is not ("MixtralForCausalLM" or "Qwen3MoeForCausalLM" or "OlmoeForCausalLM")) return c;
        string countField = root.TryGetProperty("num_experts", out _) ? "num_experts" : "num_local_experts";
        int experts = f.PositiveInt(f.Required(root, countField, countField), countField);
        int used = f.PositiveInt(f.Required(root, "num_experts_per_tok", "num_experts_per_tok"), "num_experts_per_tok");
        if (used > experts) throw f.Error("num_experts_per_tok", $"is {used}, more than the {experts} experts");
        int width = c.IntermediateSize;
        bool normalize = true;
        if (hfArch == "Qwen3MoeForCausalLM")
        {
            width = f.PositiveInt(f.Required(root, "moe_intermediate_size", "moe_intermediate_size"), "moe_intermediate_size");
            if (f.OptionalInt(root, "decoder_sparse_step", "decoder_sparse_step", 1) != 1)
                throw f.Error("decoder_sparse_step", "other than 1 (dense layers between sparse ones) is not supported");
            if (f.Optional(root, "mlp_only_layers") is JsonElement dense && f.Array(dense, "mlp_only_layers").GetArrayLength() > 0)
                throw f.Error("mlp_only_layers", "is not empty: dense layers in a Qwen3-MoE model are not supported");
        }
        if (hfArch != "MixtralForCausalLM") normalize = f.OptionalBool(root, "norm_topk_prob", "norm_topk_prob", fallback: false);
        if (hfArch == "OlmoeForCausalLM" && f.Optional(root, "clip_qkv") is not null)
            throw f.Error("clip_qkv", "is set: clipped Q/K/V are not supported");
        return c with { ExpertCount = experts, ExpertsUsed = used, ExpertFfnSize = width, NormalizeExpertWeights = normalize };
    }

    /// <summary>rope_parameters (transformers v5) or rope_scaling, whichever the config has.</summary>
    private static JsonElement? RopeParameters(JsonFields f, JsonElement root) =>
        f.OptionalObject(root, "rope_parameters", "rope_parameters") ?? f.OptionalObject(root, "rope_scaling", "rope_scaling");

    /// <summary>LongRoPE (rope type "longrope", or "su" as older Phi-3 configs say): its factors and attention factor.</summary>
    public sealed record LongRopeFactors(float[] Short, float[] Long, int OriginalContext, float AttentionFactor);

    /// <summary>
    /// transformers' _compute_longrope_parameters: the original context from original_max_position_embeddings
    /// (rope parameters, else the config's top level), the factor max_position_embeddings / original unless the
    /// parameters give one, and the attention factor √(1 + ln factor / ln original) (1 when factor ≤ 1) unless given.
    /// Null when the config has no LongRoPE.
    /// </summary>
    internal static LongRopeFactors? LongRope(JsonFields f, JsonElement root, int contextLength)
    {
        if (RopeParameters(f, root) is not JsonElement rp) return null;
        string? type = f.OptionalString(rp, "rope_type", "rope_parameters.rope_type") ?? f.OptionalString(rp, "type", "rope_parameters.type");
        if (type is not ("longrope" or "su")) return null;
        float[] Factors(string name) =>
            [.. f.Array(f.Required(rp, name, $"rope_parameters.{name}"), $"rope_parameters.{name}").EnumerateArray()
                .Select(v => (float)f.Number(v, $"rope_parameters.{name}"))];
        int original = f.OptionalPositiveInt(rp, "original_max_position_embeddings", "rope_parameters.original_max_position_embeddings")
            ?? f.OptionalPositiveInt(root, "original_max_position_embeddings", "original_max_position_embeddings") ?? contextLength;
        double factor = f.OptionalNumber(rp, "factor", "rope_parameters.factor") ?? (double)contextLength / original;
        double attention = f.OptionalNumber(rp, "attention_factor", "rope_parameters.attention_factor")
            ?? (factor <= 1 ? 1 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(original)));
        return new LongRopeFactors(Factors("short_factor"), Factors("long_factor"), original, (float)attention);
    }

    /// <summary>
    /// transformers' Gemma2/Gemma3 modeling: norms scale by (1 + w), embeddings by √H, sandwich norms, queries
    /// by query_pre_attn_scalar^−½, soft-caps when set, sliding layers from layer_types or the pattern (Gemma 2:
    /// even layers; Gemma 3: all but every sliding_window_pattern-th), Gemma 3's rope_local_base_freq for them,
    /// embeddings tied unless tie_word_embeddings says otherwise.
    /// </summary>
    private static ModelConfig Gemma(ModelConfig c, JsonFields f, JsonElement root, string arch)
    {
        bool gemma2 = arch == "gemma2";
        double? Number(string name) => f.OptionalNumber(root, name, name);
        int window = f.OptionalPositiveInt(root, "sliding_window", "sliding_window") ?? (gemma2 ? 4096 : 0);
        bool[] sliding;
        if (root.TryGetProperty("layer_types", out JsonElement types) && types.ValueKind == JsonValueKind.Array)
        {
            sliding = [.. types.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String && t.GetString() == "sliding_attention")];
            if (sliding.Length != c.LayerCount)
                throw new ModelFormatException(f.FilePath, $"layer_types has {sliding.Length} entries for {c.LayerCount} layers");
        }
        else
            sliding = ModelConfig.SlidingPattern(c.LayerCount, gemma2 ? 2 : f.OptionalPositiveInt(root, "sliding_window_pattern", "sliding_window_pattern") ?? 6);
        double localTheta = Number("rope_local_base_freq") ?? (gemma2 ? c.RopeTheta : 10000);
        // transformers v5: per-layer-type rope_parameters.
        if (root.TryGetProperty("rope_parameters", out JsonElement rp) && rp.ValueKind == JsonValueKind.Object
            && rp.TryGetProperty("sliding_attention", out JsonElement local) && local.ValueKind == JsonValueKind.Object)
            localTheta = f.OptionalNumber(local, "rope_theta", "rope_parameters.sliding_attention.rope_theta") ?? localTheta;
        return c with
        {
            NormWeightOffset = 1f,
            EmbeddingScale = MathF.Sqrt(c.HiddenSize),
            PostNorms = true,
            AttentionScale = (float)(1 / Math.Sqrt(Number("query_pre_attn_scalar") ?? c.HeadDim)),
            AttentionSoftcap = (float)(Number("attn_logit_softcapping") ?? 0),
            FinalLogitSoftcap = (float)(Number("final_logit_softcapping") ?? 0),
            SlidingWindow = window,
            SlidingLayers = window > 0 ? sliding : [],
            SlidingRopeTheta = (float)localTheta,
            TiedEmbeddings = f.OptionalBool(root, "tie_word_embeddings", "tie_word_embeddings", fallback: true),
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

    private static (double Theta, RopeScaling? Scaling, float LinearFactor) ReadRope(JsonFields f, JsonElement root, string path)
    {
        double? RootTheta() => f.OptionalNumber(root, "rope_theta", "rope_theta");
        // transformers v5 moves rope_theta and the scaling into rope_parameters (per layer type for Gemma 3).
        if (f.OptionalObject(root, "rope_parameters", "rope_parameters") is JsonElement p)
        {
            string field = "rope_parameters";
            if (f.OptionalObject(p, "full_attention", "rope_parameters.full_attention") is JsonElement full) (p, field) = (full, field + ".full_attention");
            var (scaling, linear) = ReadScaling(f, p, field, path);
            return (f.OptionalNumber(p, "rope_theta", field + ".rope_theta") ?? RootTheta() ?? 10000, scaling, linear);
        }
        var (s, l) = f.OptionalObject(root, "rope_scaling", "rope_scaling") is JsonElement r ? ReadScaling(f, r, "rope_scaling", path) : (null, 1f);
        return (RootTheta() ?? 10000, s, l);
    }

    private static (RopeScaling?, float Linear) ReadScaling(JsonFields f, JsonElement s, string field, string path)
    {
        string type = f.OptionalString(s, "rope_type", $"{field}.rope_type") ?? f.OptionalString(s, "type", $"{field}.type") ?? "default";
        if (type is "default" or "longrope" or "su") return (null, 1f); // LongRoPE: see LongRope
        if (type == "linear")
        {
            double factor = f.Number(f.Required(s, "factor", $"{field}.factor"), $"{field}.factor");
            return factor > 0 ? (null, (float)factor) : throw new ModelFormatException(path, $"{field}.factor is {factor}; it must be positive");
        }
        if (type != "llama3") throw new ModelFormatException(path, $"rope scaling type '{type}' is not supported (default, linear, llama3 and longrope are)");
        float Number(string name) => (float)f.Number(f.Required(s, name, $"{field}.{name}"), $"{field}.{name}");
        var scaling = new RopeScaling(
            Number("factor"),
            Number("low_freq_factor"),
            Number("high_freq_factor"),
            f.PositiveInt(f.Required(s, "original_max_position_embeddings", $"{field}.original_max_position_embeddings"), $"{field}.original_max_position_embeddings"));
        if (scaling.Factor <= 0 || scaling.LowFreqFactor <= 0 || scaling.HighFreqFactor <= scaling.LowFreqFactor)
            throw new ModelFormatException(path, $"llama3 rope scaling needs factor > 0 and 0 < low_freq_factor < high_freq_factor, found {scaling}");
        return (scaling, 1f);
    }
}
