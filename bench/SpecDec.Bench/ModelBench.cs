using System.Diagnostics;
using SpecDec.Formats;
using SpecDec.Model;

namespace SpecDec.Bench;

/// <summary>
/// Forward-pass timings on a random-weight model of a real shape: prefill tok/s, decode ms/token (T = 1)
/// with achieved GB/s, and the verification cost curve c(k) = t(forward of k) / t(forward of 1).
/// </summary>
internal static class ModelBench
{
    public static ModelConfig Shape(string name) => name switch
    {
        // The demo target: what the bundled models are trained at.
        "demo" => new ModelConfig
        {
            Architecture = "llama", VocabSize = 8192, HiddenSize = 512, IntermediateSize = 1408, LayerCount = 8,
            HeadCount = 8, KvHeadCount = 4, HeadDim = 64, ContextLength = 2048, TiedEmbeddings = true,
        },
        "llama-3.2-1b" => new ModelConfig
        {
            Architecture = "llama", VocabSize = 128256, HiddenSize = 2048, IntermediateSize = 8192, LayerCount = 16,
            HeadCount = 32, KvHeadCount = 8, HeadDim = 64, ContextLength = 131072, RopeTheta = 500000f,
            RopeScaling = new RopeScaling(32, 1, 4, 8192), TiedEmbeddings = true,
        },
        "qwen2.5-0.5b" => new ModelConfig
        {
            Architecture = "qwen2", VocabSize = 151936, HiddenSize = 896, IntermediateSize = 4864, LayerCount = 24,
            HeadCount = 14, KvHeadCount = 2, HeadDim = 64, ContextLength = 32768, RopeTheta = 1e6f,
            AttentionBias = true, TiedEmbeddings = true, RmsNormEps = 1e-6f,
        },
        _ => throw new ArgumentException($"unknown shape {name}: demo, llama-3.2-1b, qwen2.5-0.5b"),
    };

    public static void Run(int threads, string shape, GgmlType type, int context)
    {
        ModelConfig c = Shape(shape);
        var build = Stopwatch.StartNew();
        using Transformer model = Transformer.Load(new SyntheticModelSource(c, type), threads);
        long matrixBytes = WeightBytesPerToken(c, type);
        Console.WriteLine($"{shape} {type}: {matrixBytes / 1e6:F1} MB of weights read per token, built in {build.Elapsed.TotalSeconds:F1} s, {model.ThreadCount} threads");

        IKvCache cache = model.CreateCache(context + 64);
        int[] prompt = Enumerable.Range(0, context).Select(i => (i * 7919 + 13) % c.VocabSize).ToArray();
        var logits = new float[16 * c.VocabSize];
        int[] promptPositions = Enumerable.Range(0, context).ToArray();
        double prefill = Bench.Fastest(() =>
        {
            cache.Rollback(0);
            model.Forward(ForwardBatch.Causal(prompt, promptPositions), cache, logits);
        });
        Console.WriteLine($"prefill {context} tokens: {prefill * 1e3:F1} ms, {context / prefill:F0} tok/s");

        var tokens = new int[16];
        var positions = new int[16];
        var rows = new int[16];
        double Time(int k)
        {
            for (int i = 0; i < k; i++) (tokens[i], positions[i], rows[i]) = (i + 1, context + i, i);
            return Bench.Fastest(() =>
            {
                model.Forward(new ForwardBatch { Tokens = tokens.AsSpan(0, k), Positions = positions.AsSpan(0, k), LogitRows = rows.AsSpan(0, k) }, cache, logits);
                cache.Rollback(context); // every timed forward sees the same context
            });
        }
        double t1 = Time(1);
        Console.WriteLine($"decode (T=1) at context {context}: {t1 * 1e3:F2} ms/token, {1 / t1:F1} tok/s, {matrixBytes / t1 / 1e9:F1} GB/s");
        Console.Write("c(k) = t(k)/t(1):");
        for (int k = 2; k <= 16; k++) Console.Write($" {k}:{Time(k) / t1:F2}");
        Console.WriteLine();
        double t8 = Time(8);
        Console.WriteLine($"T=8 forward {t8 * 1e3:F2} ms vs 8 × T=1 {8 * t1 * 1e3:F2} ms");
    }

    /// <summary>Bytes of every matrix one token reads (each layer's seven and the output head).</summary>
    static long WeightBytesPerToken(ModelConfig c, GgmlType type)
    {
        long h = c.HiddenSize, q = c.HeadCount * c.HeadDim, kv = c.KvHeadCount * c.HeadDim, f = c.IntermediateSize;
        long perLayer = GgmlTypeInfo.ByteCount(type, h * q * 2 + h * kv * 2 + h * f * 3);
        return perLayer * c.LayerCount + GgmlTypeInfo.ByteCount(type, h * c.VocabSize);
    }
}
