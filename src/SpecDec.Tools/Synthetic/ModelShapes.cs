using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tools.Synthetic;

/// <summary>
/// Shapes of the models users run, from their Hugging Face config.json files (meta-llama/Llama-3.2-1B and -3B,
/// Qwen/Qwen2.5-0.5B and -1.5B, google/gemma-3-1b-pt, allenai/OLMoE-1B-7B-0924), and a tiny OLMoE for tests.
/// </summary>
public static class ModelShapes
{
    static readonly Dictionary<int, string> Llama3Specials = new()
    {
        [128000] = "<|begin_of_text|>",
        [128001] = "<|end_of_text|>",
        [128006] = "<|start_header_id|>",
        [128007] = "<|end_header_id|>",
        [128009] = "<|eot_id|>",
    };

    static readonly Dictionary<int, string> Qwen2Specials = new()
    {
        [151643] = "<|endoftext|>",
        [151644] = "<|im_start|>",
        [151645] = "<|im_end|>",
    };

    // Llama 3.1/3.2 rope_scaling: {"rope_type": "llama3", "factor": 32, "low_freq_factor": 1,
    // "high_freq_factor": 4, "original_max_position_embeddings": 8192}.
    static readonly RopeScaling Llama3Scaling = new(32f, 1f, 4f, 8192);

    public static IReadOnlyList<ModelShape> All { get; } =
    [
        Llama("llama-3.2-1b", hidden: 2048, layers: 16, heads: 32, headDim: 64, ffn: 8192),
        Llama("llama-3.2-3b", hidden: 3072, layers: 28, heads: 24, headDim: 128, ffn: 8192),
        Qwen2("qwen2.5-0.5b", hidden: 896, layers: 24, heads: 14, ffn: 4864),
        Qwen2("qwen2.5-1.5b", hidden: 1536, layers: 28, heads: 12, ffn: 8960),
        Gemma3_1B,
        Olmoe1B7B,
        Olmoe("olmoe-tiny", hidden: 256, layers: 2, heads: 4, experts: 8, used: 2, ffn: 256, vocab: 1024),
    ];

    /// <summary>
    /// allenai/OLMoE-1B-7B-0924: 16 layers of 16 heads (head_dim 128), 64 experts of width 1024 with 8 used per
    /// token and their raw softmax weights (norm_topk_prob false), q/k norms over the whole projection, untied
    /// 50304-row embedding; 6.9 B parameters, 1.3 B active. The vocabulary is the synthetic byte-level one.
    /// </summary>
    static ModelShape Olmoe1B7B => Olmoe("olmoe-1b-7b", hidden: 2048, layers: 16, heads: 16, experts: 64, used: 8, ffn: 1024, vocab: 50304);

    static ModelShape Olmoe(string name, int hidden, int layers, int heads, int experts, int used, int ffn, int vocab) => new()
    {
        Name = name,
        Config = new ModelConfig
        {
            Architecture = "olmoe",
            HiddenSize = hidden,
            LayerCount = layers,
            HeadCount = heads,
            KvHeadCount = heads,
            HeadDim = hidden / heads,
            IntermediateSize = ffn,
            VocabSize = vocab,
            ContextLength = 4096,
            RopeTheta = 10000f,
            RmsNormEps = 1e-5f,
            QkNorm = true,
            QkNormWhole = true,
            ExpertCount = experts,
            ExpertsUsed = used,
            ExpertFfnSize = ffn,
            NormalizeExpertWeights = false,
        },
        TokenizerPre = "olmo",
        SpecialTokens = new Dictionary<int, string> { [vocab - 3] = "<|endoftext|>", [vocab - 2] = "<|padding|>" },
        FirstSpecialId = vocab - 3,
        BosTokenId = vocab - 3,
        EosTokenId = vocab - 3,
        AddBos = false,
    };

    /// <summary>
    /// google/gemma-3-1b-pt's text config: 26 layers, 5 of 6 sliding (window 512, local RoPE base 10000, global
    /// 1e6), GQA 4/1 with head_dim 256, q/k norms, GeGLU, tied 262144-row embedding. The vocabulary is the synthetic
    /// byte-level one (Gemma's own is SentencePiece), with Gemma's control tokens at its end.
    /// </summary>
    static ModelShape Gemma3_1B => new()
    {
        Name = "gemma-3-1b",
        Config = new ModelConfig
        {
            Architecture = "gemma3",
            HiddenSize = 1152,
            LayerCount = 26,
            HeadCount = 4,
            KvHeadCount = 1,
            HeadDim = 256,
            IntermediateSize = 6912,
            VocabSize = 262144,
            ContextLength = 32768,
            RopeTheta = 1000000f,
            RmsNormEps = 1e-6f,
            TiedEmbeddings = true,
            QkNorm = true,
            Activation = FfnActivation.GeluTanh,
            EmbeddingScale = MathF.Sqrt(1152),
            PostNorms = true,
            AttentionScale = 1f / 16,
            SlidingWindow = 512,
            SlidingLayers = ModelConfig.SlidingPattern(26, 6),
            SlidingRopeTheta = 10000f,
        },
        TokenizerPre = "gpt-2",
        SpecialTokens = new Dictionary<int, string>
        {
            [262140] = "<bos>",
            [262141] = "<eos>",
            [262142] = "<start_of_turn>",
            [262143] = "<end_of_turn>",
        },
        FirstSpecialId = 262140,
        BosTokenId = 262140,
        EosTokenId = 262143,
        AddBos = true,
    };

    public static ModelShape Get(string name) =>
        All.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new SpecDecException($"unknown model shape '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})");

    static ModelShape Llama(string name, int hidden, int layers, int heads, int headDim, int ffn) => new()
    {
        Name = name,
        Config = new ModelConfig
        {
            Architecture = "llama",
            HiddenSize = hidden,
            LayerCount = layers,
            HeadCount = heads,
            KvHeadCount = 8,
            HeadDim = headDim,
            IntermediateSize = ffn,
            VocabSize = 128256,
            ContextLength = 131072,
            RopeTheta = 500000f,
            RmsNormEps = 1e-5f,
            // As the GGUF reads back: llama.cpp's converter permutes llama Q/K rows to adjacent pairs.
            RopeStyle = RopeStyle.Normal,
            TiedEmbeddings = true,
            RopeScaling = Llama3Scaling,
        },
        TokenizerPre = "llama-bpe",
        SpecialTokens = Llama3Specials,
        FirstSpecialId = 128000,
        BosTokenId = 128000,
        EosTokenId = 128009,
        AddBos = true,
    };

    static ModelShape Qwen2(string name, int hidden, int layers, int heads, int ffn) => new()
    {
        Name = name,
        Config = new ModelConfig
        {
            Architecture = "qwen2",
            HiddenSize = hidden,
            LayerCount = layers,
            HeadCount = heads,
            KvHeadCount = 2,
            HeadDim = hidden / heads,
            IntermediateSize = ffn,
            // The embedding has 151936 rows; the tokenizer names 151665, the rest is padding.
            VocabSize = 151936,
            ContextLength = 32768,
            RopeTheta = 1000000f,
            RmsNormEps = 1e-6f,
            TiedEmbeddings = true,
            AttentionBias = true,
        },
        TokenizerPre = "qwen2",
        SpecialTokens = Qwen2Specials,
        FirstSpecialId = 151643,
        BosTokenId = 151643,
        EosTokenId = 151645,
        AddBos = false,
    };
}
