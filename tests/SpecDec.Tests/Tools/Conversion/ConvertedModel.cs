using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Tools.Conversion;

/// <summary>Asserts that a converted GGUF holds the Hugging Face model it came from.</summary>
internal static class ConvertedModel
{
    /// <summary>
    /// Same config (llama: Normal rope, scaling as rope_freqs.weight), and every tensor the config implies with
    /// llama.cpp's type choice and exactly the values the type rounds the source to; llama Q/K rows permuted as
    /// numpy's reshape/swapaxes would.
    /// </summary>
    public static void AssertSame(HfModelSource hf, GgufModelSource gguf, GgmlType weightType)
    {
        bool llama = hf.Config.Architecture == "llama";
        Assert.Equal(hf.Config with { RopeStyle = llama ? RopeStyle.Normal : RopeStyle.Neox, RopeScaling = null }, gguf.Config);
        Assert.Equal(GgufFileType.Of(weightType), gguf.Metadata[GgufKeys.FileType]);

        foreach ((string name, long[] dims) in ExpectedTensors.For(gguf.Config))
        {
            WeightTensor t = gguf.Find(name)!;
            float[] values = GgmlValues.Read(hf.Find(name)!);
            if (llama && name.EndsWith(".attn_q.weight")) values = NumpyPermute.Permute(values, (int)dims[1], (int)dims[0], gguf.Config.HeadCount);
            if (llama && name.EndsWith(".attn_k.weight")) values = NumpyPermute.Permute(values, (int)dims[1], (int)dims[0], gguf.Config.KvHeadCount);
            GgmlType expectedType = dims.Length == 1 ? GgmlType.F32
                : weightType == GgmlType.Q8_0 && dims[0] % 32 != 0 ? GgmlType.F16
                : weightType;
            Assert.Equal(expectedType, t.Type);
            Assert.Equal(dims, t.Dims);
            Assert.True(GgmlValues.Rounded(values, expectedType).AsSpan().SequenceEqual(GgmlValues.Read(t)), $"{name} values differ");
        }

        WeightTensor? freqs = gguf.Find(TensorNames.RopeFreqs);
        if (llama && hf.Config.RopeScaling is RopeScaling s)
        {
            Assert.Equal(GgmlType.F32, freqs!.Type);
            Assert.Equal(Llama3RopeFactors.Compute(hf.Config.HeadDim, hf.Config.RopeTheta, s), GgmlValues.Read(freqs));
        }
        else Assert.Null(freqs);
    }
}
