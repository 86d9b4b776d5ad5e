using SpecDec.Backends.Cpu;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Synthetic;

namespace SpecDec.Tests.Model;

/// <summary>Small random-weight models of each supported architecture, and helpers to run them.</summary>
internal static class TinyModels
{
    public static readonly string[] Architectures = ["llama", "qwen2", "qwen3"];

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
        return c with { HiddenSize = 256, IntermediateSize = 256, HeadCount = heads, KvHeadCount = heads * c.KvHeadCount / c.HeadCount };
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
