using SpecDec.Tensors;

namespace SpecDec.Model;

/// <summary>
/// Hyper-parameters of a Llama-family decoder, whichever file they came from (GGUF `&lt;arch&gt;.*` keys or
/// Hugging Face config.json). Architecture uses GGUF names: "llama" (also Mistral), "qwen2", "qwen3".
/// </summary>
public sealed record ModelConfig
{
    public required string Architecture { get; init; }

    /// <summary>Rows of the embedding and width of the logits (may exceed the tokenizer's vocabulary, as in Qwen2).</summary>
    public required int VocabSize { get; init; }
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
}
