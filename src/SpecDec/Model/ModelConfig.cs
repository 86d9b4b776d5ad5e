using SpecDec.Tensors;

namespace SpecDec.Model;

/// <summary>
/// Hyper-parameters of a Llama-family decoder, whichever file they came from (GGUF `&lt;arch&gt;.*` keys or
/// Hugging Face config.json). Architecture uses GGUF names: "llama" (also Mistral and Mixtral), "qwen2", "qwen3", "gemma2",
/// "gemma3", "phi3", "qwen3moe", "olmoe". Everything a backend needs to run the architecture is here (norm form, activation, soft-caps,
/// sliding windows), so no backend looks at the architecture name.
/// </summary>
public sealed record ModelConfig
{
    public required string Architecture { get; init; }

    /// <summary>Rows of the embedding and width of the logits (may exceed the tokenizer's vocabulary, as in Qwen2).</summary>
    public required int VocabSize { get; init; }

    /// <summary>
    /// A reduced draft vocabulary (EAGLE-3's d2t, an EAGLE head's only): the output head holds only these tokens'
    /// rows, so logit j scores token DraftVocab[j] and a row of logits is <see cref="LogitCount"/> wide; null: every token.
    /// </summary>
    public IReadOnlyList<int>? DraftVocab { get; init; }

    /// <summary>Width of a row of logits: the draft vocabulary's size when there is one, else <see cref="VocabSize"/>.</summary>
    public int LogitCount => DraftVocab?.Count ?? VocabSize;
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int LayerCount { get; init; }
    public required int HeadCount { get; init; }
    public required int KvHeadCount { get; init; }

    /// <summary>Per-head width; Qwen3 sets it explicitly so HeadCount × HeadDim may differ from HiddenSize.</summary>
    public required int HeadDim { get; init; }
    public required int ContextLength { get; init; }
    public float RmsNormEps { get; init; } = 1e-5f;
    public float RopeTheta { get; init; } = 10000f;
    public RopeStyle RopeStyle { get; init; } = RopeStyle.Neox;
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>The output projection reuses token_embd.weight (no output.weight tensor).</summary>
    public bool TiedEmbeddings { get; init; }

    /// <summary>Q/K/V projections carry biases (Qwen2).</summary>
    public bool AttentionBias { get; init; }

    /// <summary>Per-head RMSNorm on Q and K before RoPE (Qwen3).</summary>
    public bool QkNorm { get; init; }

    /// <summary>With <see cref="QkNorm"/>: one RMSNorm over the whole Q [heads·headDim] and K [kvHeads·headDim] projection (OLMoE) instead of per head.</summary>
    public bool QkNormWhole { get; init; }

    /// <summary>Q, K and V come as one stacked matrix attn_qkv (Phi-3).</summary>
    public bool FusedQkv { get; init; }

    /// <summary>The feed-forward's gate and up come as one stacked matrix ffn_up [2·ffn × hidden], gate first (Phi-3).</summary>
    public bool FusedGateUp { get; init; }

    /// <summary>
    /// LongRoPE's attention factor (Phi-3 128k: √(1 + ln(max/original) / ln original)): cosines and sines are
    /// multiplied by it, with either table of per-frequency divisors (rope_factors_short, rope_factors_long).
    /// </summary>
    public float RopeAttentionFactor { get; init; } = 1f;

    /// <summary>The context LongRoPE stretches (rope_factors_long applies past it; llama.cpp's n_ctx_orig_yarn); 0: none.</summary>
    public int RopeOriginalContext { get; init; }

    /// <summary>
    /// Whether a sequence that may reach <paramref name="limit"/> positions (<see cref="IKvCache.Limit"/>) rotates all
    /// of them with LongRoPE's long factors: when the limit exceeds the original context, as llama.cpp chooses by its
    /// context per sequence (n_ctx_seq &gt; n_ctx_orig_yarn); up to it, the short ones. transformers chooses per forward
    /// by max(position) + 1 instead, which agrees whenever the prompt alone is longer than the original context.
    /// </summary>
    public bool TakesLongRope(int limit) => RopeOriginalContext > 0 && limit > RopeOriginalContext;

    /// <summary>Mixture of experts: experts per layer (0: a dense feed-forward), experts each token uses, each expert's width.</summary>
    public int ExpertCount { get; init; }
    public int ExpertsUsed { get; init; }
    public int ExpertFfnSize { get; init; }

    /// <summary>The chosen experts' softmax weights are renormalised to sum to 1 (Mixtral, Qwen3-MoE's norm_topk_prob) or kept raw (OLMoE).</summary>
    public bool NormalizeExpertWeights { get; init; }

    public bool IsMoe => ExpertCount > 0;

    /// <summary>The feed-forward's gate activation: SiLU (SwiGLU) or tanh-approximated GELU (GeGLU, Gemma).</summary>
    public FfnActivation Activation { get; init; } = FfnActivation.Silu;

    /// <summary>
    /// Added to every RMSNorm weight when it is read: 1 for Hugging Face Gemma checkpoints, which store w and
    /// scale by (1 + w); 0 for GGUF, whose converter has already added it.
    /// </summary>
    public float NormWeightOffset { get; init; }

    /// <summary>Token embeddings are multiplied by this (Gemma: √hidden).</summary>
    public float EmbeddingScale { get; init; } = 1f;

    /// <summary>Gemma 2/3's sandwich: RMSNorm on the attention and feed-forward outputs before each residual add.</summary>
    public bool PostNorms { get; init; }

    /// <summary>Query scaling before the softmax; null: 1/√HeadDim.</summary>
    public float? AttentionScale { get; init; }

    /// <summary>Attention scores become cap·tanh(s/cap) when positive (Gemma 2: 50).</summary>
    public float AttentionSoftcap { get; init; }

    /// <summary>Logits become cap·tanh(z/cap) when positive (Gemma 2: 30).</summary>
    public float FinalLogitSoftcap { get; init; }

    /// <summary>Keys a sliding layer sees: a query at position p sees positions p − SlidingWindow + 1 … p.</summary>
    public int SlidingWindow { get; init; }

    /// <summary>[LayerCount] which layers attend within <see cref="SlidingWindow"/> (empty: none).</summary>
    public IReadOnlyList<bool> SlidingLayers { get; init; } = [];

    /// <summary>RoPE base of the sliding layers (Gemma 3's local base); null: <see cref="RopeTheta"/>.</summary>
    public float? SlidingRopeTheta { get; init; }

    /// <summary>Linear RoPE scaling of the global layers: frequencies divided by this (Gemma 3 4B+: 8).</summary>
    public float RopeLinearFactor { get; init; } = 1f;

    public bool IsSliding(int layer) => SlidingWindow > 0 && layer < SlidingLayers.Count && SlidingLayers[layer];

    /// <summary>The sliding pattern "every n-th layer is global" (llama.cpp's set_swa_pattern: layer l slides unless l % n == n − 1).</summary>
    public static bool[] SlidingPattern(int layers, int n) => [.. Enumerable.Range(0, layers).Select(l => n == 0 || l % n < n - 1)];

    /// <summary>The <see cref="Architecture"/> of an EAGLE head run as a model (see <see cref="IsEagleHead"/>).</summary>
    public const string EagleArchitecture = "eagle";

    /// <summary>
    /// An EAGLE head (Li et al. 2024): row i enters as fc([embedding(token i); feature i]) (fc.weight
    /// [hidden × 2·hidden] with bias; features in <see cref="ForwardBatch.Features"/>), its single block has no
    /// input norm, and the output head reads the block's output with no final norm. Embedding and output head are
    /// the target's.
    /// </summary>
    public bool IsEagleHead => Architecture == EagleArchitecture;
}
