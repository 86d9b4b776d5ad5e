using SpecDec.Tools.Synthetic;

namespace SpecDec.Tests.Tools.Synthetic;

/// <summary>Real shapes shrunk to a few hundred KB, so synthetic files are written in milliseconds.</summary>
internal static class TinyShapes
{
    /// <summary>Llama-3-like: tied embeddings, llama3 rope scaling, GQA 4/2, 8 layers (Q4_K_M's per-layer rule has work to do).</summary>
    public static ModelShape Llama { get; } = ModelShapes.Get("llama-3.2-1b") with
    {
        Name = "tiny-llama",
        Config = ModelShapes.Get("llama-3.2-1b").Config with
        {
            HiddenSize = 256,
            LayerCount = 8,
            HeadCount = 4,
            KvHeadCount = 2,
            HeadDim = 64,
            IntermediateSize = 512,
            VocabSize = 1100,
        },
        FirstSpecialId = 1000,
        SpecialTokens = new Dictionary<int, string> { [1000] = "<|begin_of_text|>", [1001] = "<|end_of_text|>", [1009] = "<|eot_id|>" },
        BosTokenId = 1000,
        EosTokenId = 1009,
    };

    /// <summary>Qwen2-like: q/k/v biases, padded vocabulary, hidden 96 (not a multiple of 256: the K-quants fall back).</summary>
    public static ModelShape Qwen2 { get; } = ModelShapes.Get("qwen2.5-0.5b") with
    {
        Name = "tiny-qwen2",
        Config = ModelShapes.Get("qwen2.5-0.5b").Config with
        {
            HiddenSize = 96,
            LayerCount = 2,
            HeadCount = 3,
            KvHeadCount = 1,
            HeadDim = 32,
            IntermediateSize = 256,
            VocabSize = 800,
        },
        FirstSpecialId = 700,
        SpecialTokens = new Dictionary<int, string> { [700] = "<|endoftext|>", [701] = "<|im_start|>", [702] = "<|im_end|>" },
        BosTokenId = 700,
        EosTokenId = 702,
    };
}
