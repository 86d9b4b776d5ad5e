using System.Text.RegularExpressions;
using SpecDec.Tensors;

namespace SpecDec.Formats.HuggingFace;

/// <summary>
/// Hugging Face Llama/Mistral/Qwen2/Qwen3/Gemma2/Gemma3/Phi-3/Mixtral/Qwen3-MoE/OLMoE tensor names ↔ canonical GGUF
/// names (<see cref="TensorNames"/>), the same mapping llama.cpp's converter applies (gguf-py tensor_mapping.py).
/// Gemma's post_attention_layernorm is the attention output's norm, not the pre-feed-forward one. Experts keep
/// one tensor each (blk.N.ffn_gate.E.weight), as the checkpoints store them; the converter stacks them.
/// </summary>
public static partial class HfTensorNames
{
    private static readonly (string Hf, string Gguf)[] Global =
    [
        ("model.embed_tokens.weight", TensorNames.TokenEmbedding),
        ("model.norm.weight", TensorNames.OutputNorm),
        ("lm_head.weight", TensorNames.Output),
    ];

    /// <summary>Per-layer suffixes after "model.layers.N." and after "blk.N.".</summary>
    private static readonly (string Hf, string Gguf)[] Layer =
    [
        ("input_layernorm.weight", "attn_norm.weight"),
        ("self_attn.q_proj.weight", "attn_q.weight"),
        ("self_attn.k_proj.weight", "attn_k.weight"),
        ("self_attn.v_proj.weight", "attn_v.weight"),
        ("self_attn.q_proj.bias", "attn_q.bias"),
        ("self_attn.k_proj.bias", "attn_k.bias"),
        ("self_attn.v_proj.bias", "attn_v.bias"),
        ("self_attn.q_norm.weight", "attn_q_norm.weight"),
        ("self_attn.k_norm.weight", "attn_k_norm.weight"),
        ("self_attn.o_proj.weight", "attn_output.weight"),
        ("mlp.gate.weight", "ffn_gate_inp.weight"),
        ("block_sparse_moe.gate.weight", "ffn_gate_inp.weight"),
        ("post_attention_layernorm.weight", "ffn_norm.weight"),
        ("mlp.gate_proj.weight", "ffn_gate.weight"),
        ("mlp.up_proj.weight", "ffn_up.weight"),
        ("mlp.down_proj.weight", "ffn_down.weight"),
    ];

    /// <summary>Phi-3's stacked projections, which take precedence over <see cref="Layer"/>.</summary>
    private static readonly (string Hf, string Gguf)[] Phi3Layer =
    [
        ("self_attn.qkv_proj.weight", "attn_qkv.weight"),
        ("mlp.gate_up_proj.weight", "ffn_up.weight"),
    ];

    /// <summary>Gemma 2/3's four norms per layer, which take precedence over <see cref="Layer"/>.</summary>
    private static readonly (string Hf, string Gguf)[] GemmaLayer =
    [
        ("post_attention_layernorm.weight", "post_attention_norm.weight"),
        ("pre_feedforward_layernorm.weight", "ffn_norm.weight"),
        ("post_feedforward_layernorm.weight", "post_ffw_norm.weight"),
    ];

    [GeneratedRegex(@"^model\.layers\.(\d{1,6})\.(.+)$")]
    private static partial Regex HfLayer();

    [GeneratedRegex(@"^blk\.(\d{1,6})\.(.+)$")]
    private static partial Regex GgufLayer();

    /// <summary>One expert's matrix: Mixtral's block_sparse_moe.experts.E.w1/w3/w2, the others' mlp.experts.E.gate_proj/up_proj/down_proj.</summary>
    [GeneratedRegex(@"^(?:block_sparse_moe|mlp)\.experts\.(\d{1,6})\.(w1|w3|w2|gate_proj|up_proj|down_proj)\.weight$")]
    private static partial Regex HfExpert();

    [GeneratedRegex(@"^ffn_(gate|up|down)\.(\d{1,6})\.weight$")]
    private static partial Regex GgufExpert();

    /// <summary>The canonical name, or null for a name this mapping does not know.</summary>
    /// <param name="architecture">The GGUF architecture name (the Gemmas name their norms differently).</param>
    public static string? ToCanonical(string hfName, string architecture = "llama") =>
        Translate(hfName, HfLayer(), "blk", fromHf: true, LayerNames(architecture));

    /// <summary>The Hugging Face name of a canonical one (for messages), or the name itself if it has none.</summary>
    public static string ToHf(string canonical, string architecture = "llama") =>
        Translate(canonical, GgufLayer(), "model.layers", fromHf: false, LayerNames(architecture), mixtral: architecture == "llama") ?? canonical;

    private static IEnumerable<(string Hf, string Gguf)> LayerNames(string architecture) =>
        architecture.StartsWith("gemma", StringComparison.Ordinal) ? GemmaLayer.Concat(Layer.Where(p => p.Hf != "post_attention_layernorm.weight"))
        : architecture == "phi3" ? Phi3Layer.Concat(Layer)
        : Layer;

    /// <summary>Buffers some checkpoints save that carry no weights (recomputed from the config).</summary>
    public static bool IsIgnorable(string hfName) => hfName.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    private static string? Translate(string name, Regex layerPattern, string layerPrefix, bool fromHf, IEnumerable<(string Hf, string Gguf)> layer,
        bool mixtral = false)
    {
        foreach ((string hf, string gguf) in Global)
        {
            if (name == (fromHf ? hf : gguf)) return fromHf ? gguf : hf;
        }
        Match m = layerPattern.Match(name);
        if (!m.Success) return null;
        string suffix = m.Groups[2].Value;
        string prefix = $"{layerPrefix}.{int.Parse(m.Groups[1].Value)}.";
        if (mixtral && !fromHf && suffix == "ffn_gate_inp.weight") return prefix + "block_sparse_moe.gate.weight";
        foreach ((string hf, string gguf) in layer)
        {
            if (suffix == (fromHf ? hf : gguf)) return prefix + (fromHf ? gguf : hf);
        }
        return fromHf ? ExpertToCanonical(suffix, prefix) : ExpertToHf(suffix, prefix, mixtral);
    }

    private static string? ExpertToCanonical(string suffix, string prefix)
    {
        Match e = HfExpert().Match(suffix);
        if (!e.Success) return null;
        string kind = e.Groups[2].Value switch { "w1" or "gate_proj" => "gate", "w3" or "up_proj" => "up", _ => "down" };
        return $"{prefix}ffn_{kind}.{int.Parse(e.Groups[1].Value)}.weight";
    }

    private static string? ExpertToHf(string suffix, string prefix, bool mixtral)
    {
        Match e = GgufExpert().Match(suffix);
        if (!e.Success) return null;
        string kind = e.Groups[1].Value;
        return mixtral
            ? $"{prefix}block_sparse_moe.experts.{e.Groups[2].Value}.{kind switch { "gate" => "w1", "up" => "w3", _ => "w2" }}.weight"
            : $"{prefix}mlp.experts.{e.Groups[2].Value}.{kind}_proj.weight";
    }
}
