using SpecDec.Formats;
using SpecDec.Tensors;

namespace SpecDec.Model;

/// <summary>
/// The tensors a <see cref="ModelConfig"/> implies, with their GGUF-order dims, and the check that a
/// checkpoint has each of them in that shape. Both model sources run it, so a file whose weights disagree
/// with its own hyper-parameters is refused on open rather than read out of bounds later.
/// </summary>
public static class ExpectedTensors
{
    /// <summary>Required tensors of <paramref name="config"/>: name and dims ([in, out] for a linear layer).</summary>
    /// <param name="stackedExperts">Experts as GGUF's stacked [in, out, experts] tensors; false: one 2-D tensor per expert (Hugging Face).</param>
    public static IEnumerable<(string Name, long[] Dims)> For(ModelConfig config, bool stackedExperts = true)
    {
        long hidden = config.HiddenSize, q = (long)config.HeadCount * config.HeadDim, kv = (long)config.KvHeadCount * config.HeadDim;
        yield return (TensorNames.TokenEmbedding, [hidden, config.VocabSize]);
        yield return (TensorNames.OutputNorm, [hidden]);
        if (!config.TiedEmbeddings) yield return (TensorNames.Output, [hidden, config.VocabSize]);
        for (int l = 0; l < config.LayerCount; l++)
        {
            yield return (TensorNames.AttnNorm(l), [hidden]);
            if (config.FusedQkv) yield return (TensorNames.AttnQkv(l), [hidden, q + 2 * kv]);
            else
            {
                yield return (TensorNames.AttnQ(l), [hidden, q]);
                yield return (TensorNames.AttnK(l), [hidden, kv]);
                yield return (TensorNames.AttnV(l), [hidden, kv]);
            }
            yield return (TensorNames.AttnOutput(l), [q, hidden]);
            if (config.AttentionBias)
            {
                yield return (TensorNames.AttnQBias(l), [q]);
                yield return (TensorNames.AttnKBias(l), [kv]);
                yield return (TensorNames.AttnVBias(l), [kv]);
            }
            if (config.QkNorm)
            {
                yield return (TensorNames.AttnQNorm(l), [config.QkNormWhole ? q : config.HeadDim]);
                yield return (TensorNames.AttnKNorm(l), [config.QkNormWhole ? kv : config.HeadDim]);
            }
            yield return (TensorNames.FfnNorm(l), [hidden]);
            if (config.PostNorms)
            {
                yield return (TensorNames.PostAttnNorm(l), [hidden]);
                yield return (TensorNames.PostFfnNorm(l), [hidden]);
            }
            foreach (var t in FeedForward(config, l, stackedExperts)) yield return t;
        }
    }

    static IEnumerable<(string Name, long[] Dims)> FeedForward(ModelConfig config, int l, bool stackedExperts)
    {
        long hidden = config.HiddenSize, ffn = config.IntermediateSize;
        if (config.IsMoe)
        {
            long e = config.ExpertCount, f = config.ExpertFfnSize;
            yield return (TensorNames.FfnRouter(l), [hidden, e]);
            if (stackedExperts)
            {
                yield return (TensorNames.FfnGateExps(l), [hidden, f, e]);
                yield return (TensorNames.FfnUpExps(l), [hidden, f, e]);
                yield return (TensorNames.FfnDownExps(l), [f, hidden, e]);
            }
            else
                for (int x = 0; x < e; x++)
                {
                    yield return (TensorNames.FfnGateExpert(l, x), [hidden, f]);
                    yield return (TensorNames.FfnUpExpert(l, x), [hidden, f]);
                    yield return (TensorNames.FfnDownExpert(l, x), [f, hidden]);
                }
        }
        else if (config.FusedGateUp) yield return (TensorNames.FfnUp(l), [hidden, 2 * ffn]);
        else
        {
            yield return (TensorNames.FfnGate(l), [hidden, ffn]);
            yield return (TensorNames.FfnUp(l), [hidden, ffn]);
        }
        if (!config.IsMoe) yield return (TensorNames.FfnDown(l), [ffn, hidden]);
    }

    /// <summary>Whether a checkpoint with these tensors stores its experts stacked (GGUF) rather than one per tensor.</summary>
    public static bool HasStackedExperts(IReadOnlyDictionary<string, long[]> dims) => dims.ContainsKey(TensorNames.FfnGateExps(0));

    /// <summary>The optional per-frequency RoPE divisors a checkpoint may carry, each [HeadDim/2].</summary>
    public static readonly string[] RopeFactorTensors = [TensorNames.RopeFreqs, TensorNames.RopeFactorsLong, TensorNames.RopeFactorsShort];

    /// <param name="dims">The checkpoint's tensors: dims (GGUF order) by canonical name.</param>
    /// <param name="fileName">The name the file uses for a canonical name (Hugging Face names differ).</param>
    /// <param name="torchOrder">Print shapes outermost first, as PyTorch and safetensors do.</param>
    public static void Check(ModelConfig config, IReadOnlyDictionary<string, long[]> dims, string path,
        Func<string, string>? fileName = null, bool torchOrder = false)
    {
        string Shape(long[] d) => "[" + string.Join(", ", torchOrder ? d.Reverse() : d) + "]";
        string Shown(string name) => fileName?.Invoke(name) ?? name;
        bool stacked = HasStackedExperts(dims);
        foreach ((string name, long[] expected) in For(config, stacked))
        {
            long[] actual = dims.GetValueOrDefault(name) ?? throw new ModelFormatException(path, $"missing tensor {Shown(name)}");
            if (!actual.AsSpan().SequenceEqual(expected))
                throw new ModelFormatException(path, $"tensor {Shown(name)} has shape {Shape(actual)}, but the config implies {Shape(expected)}");
        }
        // llama.cpp's form of llama3 rope scaling and of LongRoPE: one divisor per rotated pair.
        foreach (string factors in RopeFactorTensors)
            if (dims.GetValueOrDefault(factors) is long[] freqs && !(freqs.Length == 1 && freqs[0] == config.HeadDim / 2))
                throw new ModelFormatException(path, $"tensor {factors} has shape {Shape(freqs)}, but the config implies [{config.HeadDim / 2}]");
        // LongRoPE switches between its two tables by the sequence's length: one without the other cannot run.
        if (dims.ContainsKey(TensorNames.RopeFactorsLong) != dims.ContainsKey(TensorNames.RopeFactorsShort))
            throw new ModelFormatException(path, $"LongRoPE needs both {TensorNames.RopeFactorsShort} and {TensorNames.RopeFactorsLong}; the file has only "
                + (dims.ContainsKey(TensorNames.RopeFactorsLong) ? TensorNames.RopeFactorsLong : TensorNames.RopeFactorsShort));

        // A tensor the config does not use means the config and the weights disagree (block_count 2 in a file
        // of 3 layers would silently run 2 of them).
        var used = For(config, stacked).Select(t => t.Name).Concat(RopeFactorTensors).ToHashSet();
        string[] unused = dims.Keys.Where(n => !used.Contains(n)).Order(StringComparer.Ordinal).ToArray();
        if (unused.Length > 0)
        {
            string names = string.Join(", ", unused.Take(5).Select(Shown)) + (unused.Length > 5 ? $" and {unused.Length - 5} more" : "");
            throw new ModelFormatException(path, $"tensors the config does not use ({config.LayerCount} layers): {names}");
        }
    }
}
