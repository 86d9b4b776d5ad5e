using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Tensors;
using static SpecDec.Formats.Gguf.GgufMetadata;

namespace SpecDec.Model;

/// <summary>
/// <see cref="ModelConfig"/> from the `&lt;arch&gt;.*` keys llama.cpp's converter writes, plus what only the
/// tensor table says: tied output (no output.weight), Q/K/V biases, Q/K norms, vocabulary rows.
/// </summary>
internal static class GgufConfigReader
{
    public static readonly string[] Architectures = ["llama", "qwen2", "qwen3"];

    public static ModelConfig Read(GgufHeader header, string path)
    {
        var m = new GgufMetadata(header.Metadata, path);
        string arch = m.String(GgufKeys.Architecture);
        if (Array.IndexOf(Architectures, arch) < 0)
            throw new ModelFormatException(path, $"architecture '{arch}' is not supported (supported: {string.Join(", ", Architectures)})");

        var tensors = header.Tensors.ToDictionary(t => t.Name);
        int hidden = m.PositiveInt(GgufKeys.EmbeddingLength(arch));
        int heads = m.PositiveInt(GgufKeys.HeadCount(arch));
        int kvHeads = m.OptionalPositiveInt(GgufKeys.HeadCountKv(arch)) ?? heads;
        if (heads % kvHeads != 0)
            throw new ModelFormatException(path, $"{GgufKeys.HeadCount(arch)} {heads} is not a multiple of {GgufKeys.HeadCountKv(arch)} {kvHeads}");
        int headDim = m.OptionalPositiveInt(GgufKeys.KeyLength(arch)) ?? HeadDimFromWidth(hidden, heads, arch, path);
        if (headDim % 2 != 0) throw new ModelFormatException(path, $"head dimension {headDim} is odd; RoPE needs pairs");
        CheckEqualIfPresent(m, GgufKeys.ValueLength(arch), headDim, "value heads narrower or wider than key heads", path);
        CheckEqualIfPresent(m, GgufKeys.RopeDimensionCount(arch), headDim, "partial rotary embeddings", path);
        CheckNoRopeScalingKeys(m, arch, path);

        int vocab = m.OptionalPositiveInt(GgufKeys.VocabSize(arch))
            ?? (tensors.TryGetValue(TensorNames.TokenEmbedding, out GgufTensorInfo? embd) && embd.Dims.Length == 2 && embd.Dims[1] <= int.MaxValue
                ? (int)embd.Dims[1]
                : throw new ModelFormatException(path, $"no {GgufKeys.VocabSize(arch)} and no 2-D {TensorNames.TokenEmbedding} to count the vocabulary"));

        return new ModelConfig
        {
            Architecture = arch,
            VocabSize = vocab,
            HiddenSize = hidden,
            IntermediateSize = m.PositiveInt(GgufKeys.FeedForwardLength(arch)),
            LayerCount = m.PositiveInt(GgufKeys.BlockCount(arch)),
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDim = headDim,
            ContextLength = m.PositiveInt(GgufKeys.ContextLength(arch)),
            RmsNormEps = m.Float(GgufKeys.RmsEpsilon(arch)),
            RopeTheta = m.OptionalFloat(GgufKeys.RopeFreqBase(arch)) ?? 10000f,
            // llama.cpp's converter permutes llama Q/K rows to adjacent pairs; qwen2/qwen3 keep HF's halves.
            RopeStyle = arch == "llama" ? RopeStyle.Normal : RopeStyle.Neox,
            TiedEmbeddings = !tensors.ContainsKey(TensorNames.Output),
            AttentionBias = tensors.ContainsKey(TensorNames.AttnQBias(0)),
            QkNorm = tensors.ContainsKey(TensorNames.AttnQNorm(0)),
        };
    }

    private static int HeadDimFromWidth(int hidden, int heads, string arch, string path) =>
        hidden % heads == 0
            ? hidden / heads
            : throw new ModelFormatException(path, $"{GgufKeys.EmbeddingLength(arch)} {hidden} is not a multiple of {heads} heads and {GgufKeys.KeyLength(arch)} is missing");

    private static void CheckEqualIfPresent(GgufMetadata m, string key, int headDim, string what, string path)
    {
        if (m.OptionalPositiveInt(key) is int value && value != headDim)
            throw new ModelFormatException(path, $"{key} = {value} differs from the head dimension {headDim}: {what} are not supported");
    }

    /// <summary>llama3 scaling arrives as the rope_freqs tensor; linear/YaRN scaling keys would change RoPE in ways we do not run.</summary>
    private static void CheckNoRopeScalingKeys(GgufMetadata m, string arch, string path)
    {
        string key = $"{arch}.rope.scaling.type";
        if (m.OptionalString(key) is string type && type != "none")
            throw new ModelFormatException(path, $"{key} = {type} is not supported");
    }
}
