using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tools.Conversion;

/// <summary>
/// The general.* and &lt;arch&gt;.* keys llama.cpp's converter writes for a llama/qwen2/qwen3 model, in its order:
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
    }
}
