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
    public static IEnumerable<(string Name, long[] Dims)> For(ModelConfig config)
    {
        long hidden = config.HiddenSize, q = (long)config.HeadCount * config.HeadDim, kv = (long)config.KvHeadCount * config.HeadDim;
        yield return (TensorNames.TokenEmbedding, [hidden, config.VocabSize]);
        yield return (TensorNames.OutputNorm, [hidden]);
        if (!config.TiedEmbeddings) yield return (TensorNames.Output, [hidden, config.VocabSize]);
        for (int l = 0; l < config.LayerCount; l++)
        {
            yield return (TensorNames.AttnNorm(l), [hidden]);
            yield return (TensorNames.AttnQ(l), [hidden, q]);
            yield return (TensorNames.AttnK(l), [hidden, kv]);
            yield return (TensorNames.AttnV(l), [hidden, kv]);
            yield return (TensorNames.AttnOutput(l), [q, hidden]);
            if (config.AttentionBias)
            {
                yield return (TensorNames.AttnQBias(l), [q]);
                yield return (TensorNames.AttnKBias(l), [kv]);
                yield return (TensorNames.AttnVBias(l), [kv]);
            }
            if (config.QkNorm)
            {
                yield return (TensorNames.AttnQNorm(l), [config.HeadDim]);
                yield return (TensorNames.AttnKNorm(l), [config.HeadDim]);
            }
            yield return (TensorNames.FfnNorm(l), [hidden]);
            if (config.PostNorms)
            {
                yield return (TensorNames.PostAttnNorm(l), [hidden]);
                yield return (TensorNames.PostFfnNorm(l), [hidden]);
            }
            yield return (TensorNames.FfnGate(l), [hidden, config.IntermediateSize]);
            yield return (TensorNames.FfnUp(l), [hidden, config.IntermediateSize]);
            yield return (TensorNames.FfnDown(l), [config.IntermediateSize, hidden]);
        }
    }

    /// <param name="dims">The checkpoint's tensors: dims (GGUF order) by canonical name.</param>
    /// <param name="fileName">The name the file uses for a canonical name (Hugging Face names differ).</param>
    /// <param name="torchOrder">Print shapes outermost first, as PyTorch and safetensors do.</param>
    public static void Check(ModelConfig config, IReadOnlyDictionary<string, long[]> dims, string path,
        Func<string, string>? fileName = null, bool torchOrder = false)
    {
        string Shape(long[] d) => "[" + string.Join(", ", torchOrder ? d.Reverse() : d) + "]";
        string Shown(string name) => fileName?.Invoke(name) ?? name;
        foreach ((string name, long[] expected) in For(config))
        {
            long[] actual = dims.GetValueOrDefault(name) ?? throw new ModelFormatException(path, $"missing tensor {Shown(name)}");
            if (!actual.AsSpan().SequenceEqual(expected))
                throw new ModelFormatException(path, $"tensor {Shown(name)} has shape {Shape(actual)}, but the config implies {Shape(expected)}");
        }
        // llama.cpp's form of llama3 rope scaling: one divisor per rotated pair.
        if (dims.GetValueOrDefault(TensorNames.RopeFreqs) is long[] freqs && !(freqs.Length == 1 && freqs[0] == config.HeadDim / 2))
            throw new ModelFormatException(path,
                $"tensor {TensorNames.RopeFreqs} has shape {Shape(freqs)}, but the config implies [{config.HeadDim / 2}]");

        // A tensor the config does not use means the config and the weights disagree (block_count 2 in a file
        // of 3 layers would silently run 2 of them).
        var used = For(config).Select(t => t.Name).Append(TensorNames.RopeFreqs).ToHashSet();
        string[] unused = dims.Keys.Where(n => !used.Contains(n)).Order(StringComparer.Ordinal).ToArray();
        if (unused.Length > 0)
        {
            string names = string.Join(", ", unused.Take(5).Select(Shown)) + (unused.Length > 5 ? $" and {unused.Length - 5} more" : "");
            throw new ModelFormatException(path, $"tensors the config does not use ({config.LayerCount} layers): {names}");
        }
    }
}
