using System.Text.RegularExpressions;
using SpecDec.Tensors;

namespace SpecDec.Formats.HuggingFace;

/// <summary>
/// Hugging Face Llama/Mistral/Qwen2/Qwen3 tensor names ↔ canonical GGUF names (<see cref="TensorNames"/>),
/// the same mapping llama.cpp's converter applies (gguf-py tensor_mapping.py).
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
        ("post_attention_layernorm.weight", "ffn_norm.weight"),
        ("mlp.gate_proj.weight", "ffn_gate.weight"),
        ("mlp.up_proj.weight", "ffn_up.weight"),
        ("mlp.down_proj.weight", "ffn_down.weight"),
    ];

    [GeneratedRegex(@"^model\.layers\.(\d{1,6})\.(.+)$")]
    private static partial Regex HfLayer();

    [GeneratedRegex(@"^blk\.(\d{1,6})\.(.+)$")]
    private static partial Regex GgufLayer();

    /// <summary>The canonical name, or null for a name this mapping does not know.</summary>
    public static string? ToCanonical(string hfName) => Translate(hfName, HfLayer(), "blk", fromHf: true);

    /// <summary>The Hugging Face name of a canonical one (for messages), or the name itself if it has none.</summary>
    public static string ToHf(string canonical) => Translate(canonical, GgufLayer(), "model.layers", fromHf: false) ?? canonical;

    /// <summary>Buffers some checkpoints save that carry no weights (recomputed from the config).</summary>
    public static bool IsIgnorable(string hfName) => hfName.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    private static string? Translate(string name, Regex layerPattern, string layerPrefix, bool fromHf)
    {
        foreach ((string hf, string gguf) in Global)
        {
            if (name == (fromHf ? hf : gguf)) return fromHf ? gguf : hf;
        }
        Match m = layerPattern.Match(name);
        if (!m.Success) return null;
        string suffix = m.Groups[2].Value;
        foreach ((string hf, string gguf) in Layer)
        {
            if (suffix == (fromHf ? hf : gguf)) return $"{layerPrefix}.{int.Parse(m.Groups[1].Value)}.{(fromHf ? gguf : hf)}";
        }
        return null;
    }
}
