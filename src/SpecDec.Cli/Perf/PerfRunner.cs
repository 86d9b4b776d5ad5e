using System.Diagnostics;
using SpecDec.Backends.Cpu;
using SpecDec.Backends.Cuda;
using SpecDec.Cli.Commands;
using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Generation;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Benchmarking;

namespace SpecDec.Cli.Perf;

/// <summary>
/// Times a model the way speculative decoding uses it: a prefill (256 tokens unless asked otherwise), a prefill
/// of <see cref="ChunkTokens"/> more at that depth (llama-bench's pp64 -d 256, for a like-for-like comparison),
/// single-token decode steps, and forwards of k = 1..16 tokens at the same context (the verification cost
/// curve). Token ids are arbitrary: the cost of a forward does not depend on them. Each figure is the median
/// of several runs, after a warm-up that faults in the mapped weights and lets the JIT finish optimizing the kernels.
/// </summary>
internal static class PerfRunner
{
    public const int DefaultPromptTokens = 256;
    public const int MaxK = 16;
    const int DecodeSteps = 32, Repeats = 5;

    /// <summary>Tokens of the prefill timed after the prompt, at its depth: llama-bench's pp64 with -d at the prompt's length.</summary>
    public const int ChunkTokens = 64;

    /// <param name="promptTokens">Prefill length, and so the context the decode steps and c(k) run at.</param>
    /// <param name="gpu">The GPU to run on (null: the CPU).</param>
    public static PerfReport Run(string path, int threads, Action<string> log, int promptTokens = DefaultPromptTokens,
        KvCacheType cacheType = KvCacheType.F32, CudaDevice? gpu = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokens, 1);
        var report = Measure(path, threads, log, promptTokens, cacheType, gpu);
        if (gpu is not null)
        {
            log("measuring device copy bandwidth");
            return report with { MeasuredBandwidthGBs = CudaTiming.CopyBandwidth(gpu) };
        }
        log("measuring memory read bandwidth");
        using var pool = new WorkerPool(report.Threads);
        return report with { MeasuredBandwidthGBs = MemoryBandwidth.Measure(pool) };
    }

    static PerfReport Measure(string path, int threads, Action<string> log, int promptTokens, KvCacheType cacheType, CudaDevice? gpu)
    {
        GgufModelSource source = GgufModelSource.Open(path);
        // Refused before the cache is sized for it: past the model's context the positions mean nothing anyway.
        int maxK = gpu is null ? MaxK : GpuK[^1];
        int after = Math.Max(DecodeSteps + maxK, ChunkTokens); // positions past the prompt: the decode steps and c(k), or the chunk
        long needed = (long)promptTokens + after;
        if (needed > source.Config.ContextLength)
        {
            source.Dispose();
            throw new SpecDecException($"--context {promptTokens} needs {needed} positions ({after} more for the decode steps, c(k) and the {ChunkTokens}-token prefill), "
                + $"past the model's context length of {source.Config.ContextLength}; use at most {source.Config.ContextLength - after}");
        }
        long bytesPerToken = WeightBytesPerToken(source.Tensors, source.Config);
        string types = string.Join(" + ", source.Tensors.Where(t => t.Dims.Length > 1).GroupBy(t => t.Type)
            .OrderByDescending(g => g.Sum(t => t.ByteLength)).Select(g => g.Key.ToString()));
        using ILanguageModel model = DeviceOption.Load(source, gpu, cacheType, threads: threads); // owns the source from here
        ModelConfig c = model.Config;
        MemoryBudget.Check(model.CacheBytes(needed), $"--context {promptTokens} ({needed} positions) for its KV cache", max: null);

        var rng = new Random(1);
        int[] tokens = Enumerable.Range(0, promptTokens + after).Select(_ => rng.Next(Math.Min(c.VocabSize, 32000))).ToArray();
        int[] positions = Enumerable.Range(0, tokens.Length).ToArray();
        IKvCache cache = model.CreateCache(tokens.Length);
        var logits = new float[c.VocabSize];

        double Forward(int start, int count)
        {
            long t0 = Stopwatch.GetTimestamp();
            model.Forward(ForwardBatch.Causal(tokens.AsSpan(start, count), positions.AsSpan(start, count)), cache, logits);
            return Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }

        log($"warming up ({c.LayerCount} layers, {(gpu is null ? $"{threads} threads" : gpu.Name)})");
        Forward(0, promptTokens);
        for (int i = 0; i < 40; i++)
        {
            cache.Rollback(promptTokens);
            Forward(promptTokens, 1 + i % MaxK);
        }

        log("prefill");
        var prefill = new double[3];
        for (int r = 0; r < prefill.Length; r++)
        {
            cache.Rollback(0);
            prefill[r] = Forward(0, promptTokens);
        }
        var chunk = new double[3];
        for (int r = 0; r < chunk.Length; r++)
        {
            cache.Rollback(promptTokens);
            chunk[r] = Forward(promptTokens, ChunkTokens);
        }
        cache.Rollback(promptTokens);

        log("decode");
        var steps = new double[DecodeSteps];
        for (int i = 0; i < DecodeSteps; i++) steps[i] = Forward(promptTokens + i, 1);

        log("verification cost c(k)");
        var byK = new double[MaxK];
        var runs = new double[Repeats];
        for (int k = 1; k <= MaxK; k++)
        {
            for (int r = 0; r < Repeats; r++)
            {
                cache.Rollback(promptTokens);
                runs[r] = Forward(promptTokens, k);
            }
            byK[k - 1] = Median(runs);
        }
        var large = new List<(int, double)>();
        if (gpu is not null)
            foreach (int k in GpuK)
            {
                for (int r = 0; r < Repeats; r++)
                {
                    cache.Rollback(promptTokens);
                    runs[r] = Forward(promptTokens, k);
                }
                large.Add((k, Median(runs) / byK[0]));
            }

        long kvBytes = 2L * c.LayerCount * c.KvHeadCount * c.HeadDim * cacheType.ElementBytes() * (promptTokens + DecodeSteps / 2);
        return new PerfReport
        {
            Model = path,
            Architecture = c.Architecture,
            WeightTypes = types,
            FileBytes = new FileInfo(path).Length,
            Threads = model is Transformer cpu ? cpu.ThreadCount : 0,
            Simd = gpu?.ToString() ?? Simd.Best.ToString(),
            Kernels = gpu is null ? KernelPaths.Name(KernelPaths.Best) : "cuda",
            Device = gpu is null ? "cpu" : "cuda",
            LargeVerifyCost = large,
            PromptTokens = promptTokens,
            CacheType = cacheType.ToString().ToLowerInvariant(),
            PrefillTokensPerSecond = promptTokens / Median(prefill),
            ChunkPrefillTokensPerSecond = ChunkTokens / Median(chunk),
            DecodeTokensPerSecond = 1 / Median(steps),
            BytesPerToken = bytesPerToken + kvBytes,
            MeasuredBandwidthGBs = 0,
            VerifyCost = byK.Select(t => t / byK[0]).ToArray(),
            PeakRssBytes = Process.GetCurrentProcess().PeakWorkingSet64,
        };
    }

    /// <summary>c(k) also measured at these k on a GPU, where verifying a whole 64-row tree is the point.</summary>
    static readonly int[] GpuK = [32, 64];

    /// <summary>
    /// Weight bytes one forward reads: every tensor but the embedding (of which it reads one row per token),
    /// plus the output head, which is the embedding itself when tied; of a mixture of experts' expert tensors,
    /// only the share of the experts one token uses (ExpertsUsed of ExpertCount).
    /// </summary>
    static long WeightBytesPerToken(IReadOnlyList<WeightTensor> tensors, ModelConfig c)
    {
        long bytes = 0;
        foreach (WeightTensor t in tensors)
        {
            if (t.Name == TensorNames.TokenEmbedding && !c.TiedEmbeddings) continue;
            bool expert = c.IsMoe && t.Name.EndsWith("_exps.weight", StringComparison.Ordinal);
            bytes += expert ? t.ByteLength * c.ExpertsUsed / c.ExpertCount : t.ByteLength;
        }
        return bytes;
    }

    static double Median(double[] values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
