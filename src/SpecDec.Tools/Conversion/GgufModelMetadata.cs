using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tools.Conversion;

/// <summary>
/// The general.* and &lt;arch&gt;.* keys llama.cpp's converter writes for each supported architecture, in its order:
/// the one writer of <see cref="ModelConfig"/> as GGUF keys (convert and synth), the inverse of the engine's GgufConfigReader.
/// </summary>
internal static class GgufModelMetadata
{
    public static void Add(GgufWriter w, ModelConfig c, string name, uint fileType)
    {
        string arch = c.Architecture;
        w.Add(GgufKeys.Architecture, arch);
        w.Add("general.type", "model");
        w.Add(GgufKeys.Name, name);
        w.Add(GgufKeys.Alignment, (uint)GgufKeys.DefaultAlignment);
        w.Add(GgufKeys.BlockCount(arch), (uint)c.LayerCount);
        w.Add(GgufKeys.ContextLength(arch), (uint)c.ContextLength);
        w.Add(GgufKeys.EmbeddingLength(arch), (uint)c.HiddenSize);
        w.Add(GgufKeys.FeedForwardLength(arch), (uint)c.IntermediateSize);
        w.Add(GgufKeys.HeadCount(arch), (uint)c.HeadCount);
        w.Add(GgufKeys.HeadCountKv(arch), (uint)c.KvHeadCount);
        w.Add(GgufKeys.RopeFreqBase(arch), c.RopeTheta);
        w.Add(GgufKeys.RmsEpsilon(arch), c.RmsNormEps);
        w.Add(GgufKeys.KeyLength(arch), (uint)c.HeadDim);
        w.Add(GgufKeys.ValueLength(arch), (uint)c.HeadDim);
        w.Add(GgufKeys.FileType, fileType);
        w.Add(GgufKeys.VocabSize(arch), (uint)c.VocabSize);
        w.Add(GgufKeys.RopeDimensionCount(arch), (uint)c.HeadDim);
        w.Add(GgufKeys.QuantizationVersion, 2u);
        if (c.RopeLinearFactor != 1f)
        {
            w.Add($"{arch}.rope.scaling.type", "linear");
            w.Add($"{arch}.rope.scaling.factor", c.RopeLinearFactor);
        }
        if (c.RopeOriginalContext > 0)
        {
            w.Add($"{arch}.rope.scaling.attn_factor", c.RopeAttentionFactor);
            w.Add($"{arch}.rope.scaling.original_context_length", (uint)c.RopeOriginalContext);
        }
        if (c.IsMoe)
        {
            w.Add($"{arch}.expert_count", (uint)c.ExpertCount);
            w.Add($"{arch}.expert_used_count", (uint)c.ExpertsUsed);
            if (c.ExpertFfnSize != c.IntermediateSize) w.Add($"{arch}.expert_feed_forward_length", (uint)c.ExpertFfnSize);
            // llama.cpp renormalises every architecture's top-k weights but OLMoE's; say so only where this model differs.
            if (c.NormalizeExpertWeights != (arch != "olmoe")) w.Add($"{arch}.expert_weights_norm", c.NormalizeExpertWeights);
        }
        if (arch.StartsWith("gemma", StringComparison.Ordinal)) AddGemma(w, c, arch);
    }

    /// <summary>Gemma 2/3 keys as llama.cpp's converter writes them; the pattern only where it is not llama.cpp's default.</summary>
    static void AddGemma(GgufWriter w, ModelConfig c, string arch)
    {
        bool gemma2 = arch == "gemma2";
        if (c.AttentionSoftcap > 0) w.Add($"{arch}.attn_logit_softcapping", c.AttentionSoftcap);
        if (c.FinalLogitSoftcap > 0) w.Add($"{arch}.final_logit_softcapping", c.FinalLogitSoftcap);
        if (c.SlidingWindow > 0)
        {
            w.Add($"{arch}.attention.sliding_window", (uint)c.SlidingWindow);
            bool[] pattern = [.. c.SlidingLayers];
            if (!pattern.SequenceEqual(ModelConfig.SlidingPattern(c.LayerCount, gemma2 ? 2 : 6)))
                w.Add($"{arch}.attention.sliding_window_pattern", pattern);
        }
        float defaultLocal = gemma2 ? c.RopeTheta : 10000f;
        if (c.SlidingRopeTheta is float local && local != defaultLocal) w.Add($"{arch}.rope.freq_base_swa", local);
    }
}
