using SpecDec.Formats;
using SpecDec.Formats.HuggingFace;
using SpecDec.Tensors;

namespace SpecDec.Model.Heads;

/// <summary>
/// The tensors a head's config implies, under canonical names with GGUF dims ([columns, rows]), and the
/// mapping from the reference implementations' safetensors names (SafeAILab/EAGLE, FasterDecoding/Medusa).
/// </summary>
public static partial class HeadTensors
{
    /// <summary>An EAGLE head: fc, then one decoder block with no input norm (blk.0.*).</summary>
    public static IEnumerable<(string Name, long[] Dims)> Eagle(ModelConfig c)
    {
        long h = c.HiddenSize, q = c.HeadCount * c.HeadDim, kv = c.KvHeadCount * c.HeadDim, ffn = c.IntermediateSize;
        yield return (TensorNames.EagleFc, [2 * h, h]);
        yield return (TensorNames.EagleFcBias, [h]);
        yield return (TensorNames.AttnQ(0), [h, q]);
        yield return (TensorNames.AttnK(0), [h, kv]);
        yield return (TensorNames.AttnV(0), [h, kv]);
        yield return (TensorNames.AttnOutput(0), [q, h]);
        yield return (TensorNames.FfnNorm(0), [h]);
        yield return (TensorNames.FfnGate(0), [h, ffn]);
        yield return (TensorNames.FfnUp(0), [h, ffn]);
        yield return (TensorNames.FfnDown(0), [ffn, h]);
    }

    /// <summary>Medusa heads: residual blocks per head, and each head's own output head when it has one.</summary>
    public static IEnumerable<(string Name, long[] Dims)> Medusa(MedusaConfig m)
    {
        for (int i = 0; i < m.HeadCount; i++)
        {
            for (int j = 0; j < m.BlockCount; j++)
            {
                yield return (TensorNames.MedusaBlock(i, j), [m.HiddenSize, m.HiddenSize]);
                yield return (TensorNames.MedusaBlockBias(i, j), [m.HiddenSize]);
            }
            if (m.OwnOutputs) yield return (TensorNames.MedusaOutput(i), [m.HiddenSize, m.VocabSize]);
        }
    }

    /// <summary>
    /// An EAGLE safetensors name as a canonical one: fc.*, layers.0.* as a Llama block's; null for a name that is
    /// not one of the head's (the caller decides what to ignore).
    /// </summary>
    public static string? EagleCanonical(string name) => name switch
    {
        "fc.weight" => TensorNames.EagleFc,
        "fc.bias" => TensorNames.EagleFcBias,
        _ when name.StartsWith("layers.", StringComparison.Ordinal) => HfTensorNames.ToCanonical("model." + name),
        _ => null,
    };

    /// <summary>The file's name of a canonical EAGLE name, for messages.</summary>
    public static string EagleFileName(string canonical) => canonical switch
    {
        TensorNames.EagleFc => "fc.weight",
        TensorNames.EagleFcBias => "fc.bias",
        _ => HfTensorNames.ToHf(canonical).Replace("model.layers.", "layers.", StringComparison.Ordinal),
    };

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:medusa_head\.)?(\d{1,3})\.(\d{1,3})\.(linear\.)?(weight|bias)$")]
    private static partial System.Text.RegularExpressions.Regex MedusaName();

    /// <summary>
    /// A Medusa safetensors name (<c>{i}.{j}.linear.weight|bias</c> for block j of head i, <c>{i}.{blocks}.weight</c> for
    /// its own output head; Medusa-2 merged models prefix <c>medusa_head.</c>) as a canonical one; null otherwise.
    /// </summary>
    public static string? MedusaCanonical(string name, int blocks)
    {
        var m = MedusaName().Match(name);
        if (!m.Success) return null;
        int head = int.Parse(m.Groups[1].Value), j = int.Parse(m.Groups[2].Value);
        bool linear = m.Groups[3].Success, weight = m.Groups[4].Value == "weight";
        if (linear && j < blocks) return weight ? TensorNames.MedusaBlock(head, j) : TensorNames.MedusaBlockBias(head, j);
        if (!linear && j == blocks && weight) return TensorNames.MedusaOutput(head);
        return null;
    }

    /// <summary>
    /// Every expected tensor present with its shape and nothing else; throws a <see cref="ModelFormatException"/>
    /// naming the file's name for the first problem.
    /// </summary>
    public static void Check(IEnumerable<(string Name, long[] Dims)> expected, IReadOnlyDictionary<string, WeightTensor> tensors,
        string path, Func<string, string> fileName, bool torchOrder)
    {
        string Shape(long[] d) => "[" + string.Join(", ", torchOrder ? d.Reverse() : d) + "]";
        var used = new HashSet<string>();
        foreach ((string name, long[] dims) in expected)
        {
            used.Add(name);
            WeightTensor t = tensors.GetValueOrDefault(name) ?? throw new ModelFormatException(path, $"missing tensor {fileName(name)}");
            if (!t.Dims.AsSpan().SequenceEqual(dims))
                throw new ModelFormatException(path, $"tensor {fileName(name)} has shape {Shape(t.Dims)}, but the config implies {Shape(dims)}");
        }
        string? extra = tensors.Keys.Where(n => !used.Contains(n)).Order(StringComparer.Ordinal).FirstOrDefault();
        if (extra is not null) throw new ModelFormatException(path, $"tensor {fileName(extra)} is not part of this head (its config does not use it)");
        RunnableTypeCheck.Check(tensors.Values, path);
    }
}
