using SpecDec.Model;

namespace SpecDec.Tools.Synthetic;

/// <summary>
/// The dimensions of a real checkpoint (from its config.json), enough to write a random-weight GGUF that
/// loads and runs exactly like the real one at the same speed.
/// </summary>
public sealed record ModelShape
{
    public required string Name { get; init; }

    /// <summary>GGUF architecture: "llama" or "qwen2".</summary>
    public required string Architecture { get; init; }
    public required int HiddenSize { get; init; }
    public required int LayerCount { get; init; }
    public required int HeadCount { get; init; }
    public required int KvHeadCount { get; init; }
    public required int HeadDim { get; init; }
    public required int IntermediateSize { get; init; }
    public required int VocabSize { get; init; }
    public required int ContextLength { get; init; }
    public required float RopeTheta { get; init; }
    public required float RmsNormEps { get; init; }
    public required bool TiedEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>tokenizer.ggml.pre: the pre-tokenizer (split regex) llama.cpp applies.</summary>
    public required string TokenizerPre { get; init; }

    /// <summary>Ids of the special tokens the vocabulary must name exactly (the rest are reserved or padding).</summary>
    public required IReadOnlyDictionary<int, string> SpecialTokens { get; init; }

    /// <summary>First special id: regular (merged) tokens fill ids below it.</summary>
    public required int FirstSpecialId { get; init; }
    public required int BosTokenId { get; init; }
    public required int EosTokenId { get; init; }
    public required bool AddBos { get; init; }

    /// <summary>Weights and biases in parameters (vocab rows counted once when tied).</summary>
    public long ParameterCount
    {
        get
        {
            long kv = (long)KvHeadCount * HeadDim, q = (long)HeadCount * HeadDim;
            long perLayer = HiddenSize * (q + 2 * kv) + q * HiddenSize + 3L * HiddenSize * IntermediateSize + 2L * HiddenSize
                            + (AttentionBias ? q + 2 * kv : 0);
            return (long)VocabSize * HiddenSize * (TiedEmbeddings ? 1 : 2) + LayerCount * perLayer + HiddenSize;
        }
    }
}
