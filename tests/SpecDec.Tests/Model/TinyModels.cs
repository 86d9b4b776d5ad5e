using SpecDec.Backends.Cpu;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Synthetic;

namespace SpecDec.Tests.Model;

/// <summary>Small random-weight models of each supported architecture, and helpers to run them.</summary>
internal static class TinyModels
{
    public static readonly string[] Architectures = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "mixtral", "qwen3moe", "olmoe"];

    public static ModelConfig Config(string architecture) => architecture switch
    {
        // GQA 4/2, Normal (GGUF llama) rope pairs, llama3 frequency scaling, separate output head.
        "llama" => new ModelConfig
        {
            Architecture = "llama", VocabSize = 96, HiddenSize = 64, IntermediateSize = 96, LayerCount = 2,
            HeadCount = 4, KvHeadCount = 2, HeadDim = 16, ContextLength = 512, RopeStyle = RopeStyle.Normal,
            RopeScaling = new RopeScaling(8, 1, 4, 64),
        },
        // q/k/v biases, tied embeddings, Neox pairs.
        "qwen2" => new ModelConfig
        {
            Architecture = "qwen2", VocabSize = 96, HiddenSize = 64, IntermediateSize = 96, LayerCount = 2,
            HeadCount = 4, KvHeadCount = 1, HeadDim = 16, ContextLength = 512, RopeTheta = 1e6f,
            AttentionBias = true, TiedEmbeddings = true,
        },
        // Per-head q/k RMSNorm, head_dim 32 ≠ hidden/heads, tied.
        "qwen3" => new ModelConfig
        {
            Architecture = "qwen3", VocabSize = 96, HiddenSize = 64, IntermediateSize = 96, LayerCount = 2,
            HeadCount = 4, KvHeadCount = 2, HeadDim = 32, ContextLength = 512, QkNorm = true, TiedEmbeddings = true,
            RmsNormEps = 1e-6f,
        },
        // GeGLU, √H embeddings, sandwich norms, both soft-caps (small enough to bend these logits), layers 0 and 2
        // sliding with a window of 4 (shorter than the test sequences), query scale ≠ 1/√head_dim, tied.
        "gemma2" => new ModelConfig
        {
            Architecture = "gemma2", VocabSize = 96, HiddenSize = 64, IntermediateSize = 96, LayerCount = 3,
            HeadCount = 4, KvHeadCount = 2, HeadDim = 16, ContextLength = 512, RmsNormEps = 1e-6f, TiedEmbeddings = true,
            Activation = FfnActivation.GeluTanh, EmbeddingScale = 8f, PostNorms = true, AttentionScale = 0.2f,
            AttentionSoftcap = 2f, FinalLogitSoftcap = 3f, SlidingWindow = 4, SlidingLayers = ModelConfig.SlidingPattern(3, 2),
        },
        // Gemma 3: q/k norms, local RoPE base 10000 on the sliding layers, global base 1e6 with linear scaling 4,
        // no soft-caps, a custom layer pattern (global, sliding, sliding).
        "gemma3" => new ModelConfig
        {
            Architecture = "gemma3", VocabSize = 96, HiddenSize = 64, IntermediateSize = 96, LayerCount = 3,
            HeadCount = 4, KvHeadCount = 1, HeadDim = 32, ContextLength = 512, RmsNormEps = 1e-6f, TiedEmbeddings = true,
            QkNorm = true, Activation = FfnActivation.GeluTanh, EmbeddingScale = 8f, PostNorms = true,
            RopeTheta = 1e6f, RopeLinearFactor = 4f, SlidingRopeTheta = 10000f, SlidingWindow = 5,
            SlidingLayers = [false, true, true],
        },
        // Phi-3: stacked Q/K/V and gate/up, LongRoPE (the synthetic rope_factors_short, and rope_factors_long for a cache
        // of more than 64 positions; attention factor √(1 + ln 4 / ln 64)), untied.
        "phi3" => new ModelConfig
        {
            Architecture = "phi3", VocabSize = 96, HiddenSize = 64, IntermediateSize = 96, LayerCount = 2,
            HeadCount = 4, KvHeadCount = 2, HeadDim = 16, ContextLength = 256, FusedQkv = true, FusedGateUp = true,
            RopeOriginalContext = 64, RopeAttentionFactor = MathF.Sqrt(1 + MathF.Log(4) / MathF.Log(64)),
        },
        // Mixtral: llama with 4 experts of width 32, top 2 renormalised, Normal rope pairs.
        "mixtral" => new ModelConfig
        {
            Architecture = "llama", VocabSize = 96, HiddenSize = 64, IntermediateSize = 32, LayerCount = 2,
            HeadCount = 4, KvHeadCount = 2, HeadDim = 16, ContextLength = 512, RopeStyle = RopeStyle.Normal, RopeTheta = 1e6f,
            ExpertCount = 4, ExpertsUsed = 2, ExpertFfnSize = 32, NormalizeExpertWeights = true,
        },
        // Qwen3-MoE: per-head q/k norms, head_dim 32, 6 experts, top 3 renormalised, tied.
        "qwen3moe" => new ModelConfig
        {
            Architecture = "qwen3moe", VocabSize = 96, HiddenSize = 64, IntermediateSize = 96, LayerCount = 2,
            HeadCount = 4, KvHeadCount = 2, HeadDim = 32, ContextLength = 512, QkNorm = true, TiedEmbeddings = true,
            ExpertCount = 6, ExpertsUsed = 3, ExpertFfnSize = 32, NormalizeExpertWeights = true, RmsNormEps = 1e-6f,
        },
        // OLMoE: whole-projection q/k norms, 8 experts, top 2 with raw weights, untied.
        "olmoe" => new ModelConfig
        {
            Architecture = "olmoe", VocabSize = 96, HiddenSize = 64, IntermediateSize = 32, LayerCount = 2,
            HeadCount = 4, KvHeadCount = 2, HeadDim = 16, ContextLength = 512, QkNorm = true, QkNormWhole = true,
            ExpertCount = 8, ExpertsUsed = 2, ExpertFfnSize = 32,
        },
        _ => throw new ArgumentException(architecture),
    };

    /// <summary>
    /// The architecture's shape, widened for K-quant weights: their rows are super-blocks of 256, so the hidden
    /// size, the query width (heads × head_dim) and the FFN width, which are row lengths, become 256.
    /// </summary>
    public static ModelConfig Config(string architecture, GgmlType type)
    {
        ModelConfig c = Config(architecture);
        if (type is not (GgmlType.Q4_K or GgmlType.Q6_K)) return c;
        int heads = 256 / c.HeadDim;
        return c with
        {
            HiddenSize = 256, IntermediateSize = 256, HeadCount = heads, KvHeadCount = heads * c.KvHeadCount / c.HeadCount,
            ExpertFfnSize = c.IsMoe ? 256 : 0,
        };
    }

    public static Transformer Load(string architecture, GgmlType type = GgmlType.F32, int threads = 2, int seed = 1) =>
        Transformer.Load(new SyntheticModelSource(Config(architecture, type), type, seed), threads);

    /// <summary>Runs a batch and returns its logits [rows × vocab].</summary>
    public static float[] Forward(ILanguageModel model, IKvCache cache, int[] tokens, int[] positions,
        int[]? parents = null, int[]? logitRows = null)
    {
        int rows = logitRows?.Length ?? 1;
        var logits = new float[rows * model.Config.VocabSize];
        var batch = new ForwardBatch
        {
            Tokens = tokens, Positions = positions, Parents = parents ?? [], LogitRows = logitRows ?? [],
        };
        model.Forward(batch, cache, logits);
        return logits;
    }

    /// <summary>Positions start, start+1, …</summary>
    public static int[] Range(int start, int count) => Enumerable.Range(start, count).ToArray();

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"{what}: element {i} is {actual[i]}, expected {expected[i]} (±{tolerance})");
    }
}
