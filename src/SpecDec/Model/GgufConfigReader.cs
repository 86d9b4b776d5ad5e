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
    public static readonly string[] Architectures = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "qwen3moe", "olmoe"];

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
        float ropeFactor = RopeLinearFactor(m, arch, path);

        int vocab = m.OptionalPositiveInt(GgufKeys.VocabSize(arch))
            ?? (tensors.TryGetValue(TensorNames.TokenEmbedding, out GgufTensorInfo? embd) && embd.Dims.Length == 2 && embd.Dims[1] <= int.MaxValue
                ? (int)embd.Dims[1]
                : throw new ModelFormatException(path, $"no {GgufKeys.VocabSize(arch)} and no 2-D {TensorNames.TokenEmbedding} to count the vocabulary"));

        var config = new ModelConfig
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
            // llama.cpp's converter permutes llama Q/K rows to adjacent pairs; the others keep HF's halves.
            RopeStyle = arch == "llama" ? RopeStyle.Normal : RopeStyle.Neox,
            TiedEmbeddings = !tensors.ContainsKey(TensorNames.Output),
            AttentionBias = tensors.ContainsKey(TensorNames.AttnQBias(0)),
            QkNorm = tensors.ContainsKey(TensorNames.AttnQNorm(0)),
            QkNormWhole = arch == "olmoe",
            RopeLinearFactor = ropeFactor,
            // Phi-3 as llama.cpp's phi3 model: Q/K/V stacked when attn_qkv is there, gate and up always stacked;
            // LongRoPE's attention factor (its factors are the rope_factors_* tensors). Phi's sliding window is
            // ignored, as llama.cpp does.
            FusedQkv = tensors.ContainsKey(TensorNames.AttnQkv(0)),
            FusedGateUp = arch == "phi3",
            RopeAttentionFactor = m.OptionalFloat($"{arch}.rope.scaling.attn_factor") ?? 1f,
            RopeOriginalContext = m.OptionalPositiveInt($"{arch}.rope.scaling.original_context_length") ?? 0,
        };
        config = Experts(config, m, arch);
        return arch.StartsWith("gemma", StringComparison.Ordinal) ? Gemma(config, m, header.Metadata, arch) : config;
    }

    /// <summary>
    /// Mixture of experts (expert_count present): experts used, each expert's width (expert_feed_forward_length,
    /// else feed_forward_length as Mixtral and OLMoE write it), and whether the chosen weights are renormalised:
    /// expert_weights_norm when written, else llama.cpp's choice per architecture (olmoe raw, the others renormalised).
    /// </summary>
    private static ModelConfig Experts(ModelConfig c, GgufMetadata m, string arch)
    {
        if (m.OptionalPositiveInt($"{arch}.expert_count") is not int experts) return c;
        int used = m.PositiveInt($"{arch}.expert_used_count");
        if (used > experts) throw m.Error($"{arch}.expert_used_count", $"is {used}, more than the {experts} experts");
        bool normalize = m.OptionalBool($"{arch}.expert_weights_norm") ?? arch != "olmoe";
        return c with
        {
            ExpertCount = experts,
            ExpertsUsed = used,
            ExpertFfnSize = m.OptionalPositiveInt($"{arch}.expert_feed_forward_length") ?? c.IntermediateSize,
            NormalizeExpertWeights = normalize,
        };
    }

    /// <summary>
    /// Gemma 2/3 as llama.cpp reads them (src/models/gemma2.cpp, gemma3.cpp): GeGLU, √H-scaled embeddings,
    /// sandwich norms (the converter already added Gemma's +1 to every norm), sliding layers by
    /// sliding_window_pattern (Gemma 2: every 2nd layer global, window 4096 by default; Gemma 3: every 6th, a
    /// window only when the key is there, local RoPE base 10000 unless rope.freq_base_swa says otherwise),
    /// soft-caps when given, and queries scaled by 1/√head_dim except for the 27B shapes, which use 1/√(H/heads).
    /// </summary>
    private static ModelConfig Gemma(ModelConfig c, GgufMetadata m, IReadOnlyDictionary<string, object> raw, string arch)
    {
        bool gemma2 = arch == "gemma2";
        int window = m.OptionalPositiveInt($"{arch}.attention.sliding_window") ?? (gemma2 ? 4096 : 0);
        string patternKey = $"{arch}.attention.sliding_window_pattern";
        // A period n, or one flag per layer.
        bool[] sliding = raw.GetValueOrDefault(patternKey) switch
        {
            bool[] flags => flags,
            Array => [.. m.OptionalIntArray(patternKey)!.Select(f => f != 0)],
            _ => ModelConfig.SlidingPattern(c.LayerCount, (int)Math.Clamp(m.OptionalInteger(patternKey) ?? (gemma2 ? 2 : 6), 0, c.LayerCount + 1)),
        };
        if (sliding.Length != c.LayerCount) throw m.Error(patternKey, $"has {sliding.Length} entries for {c.LayerCount} layers");
        bool big = c.LayerCount == (gemma2 ? 46 : 62); // llama.cpp's LLM_TYPE_27B
        return c with
        {
            Activation = FfnActivation.GeluTanh,
            EmbeddingScale = MathF.Sqrt(c.HiddenSize),
            PostNorms = true,
            AttentionScale = 1f / MathF.Sqrt(big ? c.HiddenSize / c.HeadCount : c.HeadDim),
            AttentionSoftcap = gemma2 ? m.OptionalFloat($"{arch}.attn_logit_softcapping") ?? 0 : 0,
            FinalLogitSoftcap = m.OptionalFloat($"{arch}.final_logit_softcapping") ?? 0,
            SlidingWindow = window,
            SlidingLayers = window > 0 ? sliding : [],
            SlidingRopeTheta = m.OptionalFloat($"{arch}.rope.freq_base_swa") ?? (gemma2 ? c.RopeTheta : 10000f),
            RopeStyle = RopeStyle.Neox,
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

    /// <summary>
    /// llama3 scaling arrives as the rope_freqs tensor; linear scaling (Gemma 3) as type and factor keys;
    /// YaRN and the rest would change RoPE in ways we do not run.
    /// </summary>
    private static float RopeLinearFactor(GgufMetadata m, string arch, string path)
    {
        string key = $"{arch}.rope.scaling.type";
        switch (m.OptionalString(key))
        {
            case null or "none": return 1f;
            case "linear":
                float factor = m.OptionalFloat($"{arch}.rope.scaling.factor") ?? 1f;
                return factor > 0 ? factor : throw m.Error($"{arch}.rope.scaling.factor", $"is {factor}; it must be positive");
            case string type: throw new ModelFormatException(path, $"{key} = {type} is not supported (linear is)");
        }
    }
}
