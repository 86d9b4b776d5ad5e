namespace SpecDec.Tensors;

/// <summary>
/// Canonical tensor names: the GGUF names llama.cpp uses. Hugging Face checkpoints are mapped to these on
/// load, so the model code knows one naming only.
/// </summary>
public static class TensorNames
{
    public const string TokenEmbedding = "token_embd.weight";
    public const string OutputNorm = "output_norm.weight";
    public const string Output = "output.weight";

    /// <summary>Per-frequency RoPE divisors [HeadDim/2] that llama.cpp writes for llama3 rope scaling.</summary>
    public const string RopeFreqs = "rope_freqs.weight";

    /// <summary>LongRoPE (Phi-3): per-frequency divisors [HeadDim/2] for contexts past the original one, and up to it.</summary>
    public const string RopeFactorsLong = "rope_factors_long.weight";
    public const string RopeFactorsShort = "rope_factors_short.weight";

    /// <summary>EAGLE head: fc [hidden × 2·hidden] over [embedding; feature], and its bias [hidden].</summary>
    public const string EagleFc = "fc.weight";
    public const string EagleFcBias = "fc.bias";

    /// <summary>Medusa head i's j-th residual block: W [hidden × hidden] and b [hidden].</summary>
    public static string MedusaBlock(int head, int block) => $"medusa.{head}.blk.{block}.weight";
    public static string MedusaBlockBias(int head, int block) => $"medusa.{head}.blk.{block}.bias";

    /// <summary>Medusa head i's own output head [vocab × hidden], where it has one (published heads); else the target's.</summary>
    public static string MedusaOutput(int head) => $"medusa.{head}.output.weight";

    public static string AttnNorm(int layer) => $"blk.{layer}.attn_norm.weight";
    /// <summary>Phi-3: Q, K and V stacked as one [q + 2·kv rows × hidden] matrix.</summary>
    public static string AttnQkv(int layer) => $"blk.{layer}.attn_qkv.weight";
    public static string AttnQ(int layer) => $"blk.{layer}.attn_q.weight";
    public static string AttnK(int layer) => $"blk.{layer}.attn_k.weight";
    public static string AttnV(int layer) => $"blk.{layer}.attn_v.weight";
    public static string AttnQBias(int layer) => $"blk.{layer}.attn_q.bias";
    public static string AttnKBias(int layer) => $"blk.{layer}.attn_k.bias";
    public static string AttnVBias(int layer) => $"blk.{layer}.attn_v.bias";
    public static string AttnQNorm(int layer) => $"blk.{layer}.attn_q_norm.weight";
    public static string AttnKNorm(int layer) => $"blk.{layer}.attn_k_norm.weight";
    public static string AttnOutput(int layer) => $"blk.{layer}.attn_output.weight";
    public static string FfnNorm(int layer) => $"blk.{layer}.ffn_norm.weight";

    /// <summary>Gemma 2/3: RMSNorm of the attention output and of the feed-forward output.</summary>
    public static string PostAttnNorm(int layer) => $"blk.{layer}.post_attention_norm.weight";
    public static string PostFfnNorm(int layer) => $"blk.{layer}.post_ffw_norm.weight";
    public static string FfnGate(int layer) => $"blk.{layer}.ffn_gate.weight";
    public static string FfnUp(int layer) => $"blk.{layer}.ffn_up.weight";
    public static string FfnDown(int layer) => $"blk.{layer}.ffn_down.weight";

    /// <summary>Mixture of experts: the router [experts × hidden] and the experts' stacked matrices [experts × rows × columns].</summary>
    public static string FfnRouter(int layer) => $"blk.{layer}.ffn_gate_inp.weight";
    public static string FfnGateExps(int layer) => $"blk.{layer}.ffn_gate_exps.weight";
    public static string FfnUpExps(int layer) => $"blk.{layer}.ffn_up_exps.weight";
    public static string FfnDownExps(int layer) => $"blk.{layer}.ffn_down_exps.weight";

    /// <summary>One expert's matrix (llama.cpp's per-expert names, as Hugging Face checkpoints store experts).</summary>
    public static string FfnGateExpert(int layer, int expert) => $"blk.{layer}.ffn_gate.{expert}.weight";
    public static string FfnUpExpert(int layer, int expert) => $"blk.{layer}.ffn_up.{expert}.weight";
    public static string FfnDownExpert(int layer, int expert) => $"blk.{layer}.ffn_down.{expert}.weight";
}
