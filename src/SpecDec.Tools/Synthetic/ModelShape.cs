using SpecDec.Model;

namespace SpecDec.Tools.Synthetic;

/// <summary>
/// The dimensions of a real checkpoint (from its config.json), enough to write a random-weight GGUF that
/// loads and runs exactly like the real one at the same speed.
/// </summary>
public sealed record ModelShape
{
    public required string Name { get; init; }

    /// <summary>The hyper-parameters, written as GGUF keys by the converter's writer (architecture "llama" or "qwen2").</summary>
    public required ModelConfig Config { get; init; }

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
            ModelConfig c = Config;
            long kv = (long)c.KvHeadCount * c.HeadDim, q = (long)c.HeadCount * c.HeadDim;
            long ffn = c.IsMoe ? (3L * c.ExpertFfnSize + 1) * c.HiddenSize * c.ExpertCount : 3L * c.HiddenSize * c.IntermediateSize;
            long perLayer = c.HiddenSize * (q + 2 * kv) + q * c.HiddenSize + ffn + 2L * c.HiddenSize
                            + (c.AttentionBias ? q + 2 * kv : 0);
            return (long)c.VocabSize * c.HiddenSize * (c.TiedEmbeddings ? 1 : 2) + c.LayerCount * perLayer + c.HiddenSize;
        }
    }
}
