using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Conversion;
using SpecDec.Tools.Quantization;

namespace SpecDec.Tools.Synthetic;

/// <summary>
/// Writes a complete GGUF with a real model's dimensions and random weights, so speed can be measured at the
/// sizes users run (by SpecDec and by other engines) without downloading anything. Metadata and tensor names are
/// those llama.cpp's converter writes; matrices are N(0, 0.02²) as at initialization, norms 1, so activations
/// keep a realistic scale through every layer. Deterministic for a given seed.
/// </summary>
public static class SyntheticModel
{
    const float WeightStd = 0.02f;

    public static void Write(ModelShape shape, QuantScheme scheme, string path, ulong seed = 1, CancellationToken cancel = default)
    {
        ModelConfig c = shape.Config;
        var writer = new GgufWriter();
        GgufModelMetadata.Add(writer, c, $"synthetic {shape.Name} ({scheme}, random weights)", QuantPlan.FileType(scheme));
        AddTokenizer(writer, shape);
        int tensorIndex = 0;
        // experts > 1: the experts' matrices stacked, GGUF dims [columns, rows, experts].
        void Matrix(string name, int rows, int columns, int experts = 1)
        {
            long[] dims = experts > 1 ? [columns, rows, experts] : [columns, rows];
            GgmlType type = QuantPlan.TypeFor(scheme, name, dims, c.LayerCount, c.TiedEmbeddings, c.HeadCount / c.KvHeadCount);
            ulong tensorSeed = seed * 1_000_003 + (ulong)tensorIndex++;
            writer.AddTensor(name, type, dims, stream =>
                RowWriter.Write(stream, type, columns, (long)rows * experts, (row, values) => Normal(tensorSeed, row, values, WeightStd)));
        }
        // Norm weights are 1 (as initialized); biases random like the matrices.
        void Vector(string name, int length, bool random)
        {
            ulong tensorSeed = seed * 1_000_003 + (ulong)tensorIndex++;
            writer.AddTensor(name, GgmlType.F32, [length], stream => RowWriter.Write(stream, GgmlType.F32, length, 1,
                (_, values) =>
                {
                    if (random) Normal(tensorSeed, 0, values, WeightStd);
                    else values.Fill(1f);
                }));
        }

        int q = c.HeadCount * c.HeadDim, kv = c.KvHeadCount * c.HeadDim;
        Matrix(TensorNames.TokenEmbedding, c.VocabSize, c.HiddenSize);
        if (c.RopeScaling is { } scaling)
        {
            float[] factors = Llama3RopeFactors.Compute(c.HeadDim, c.RopeTheta, scaling);
            writer.AddTensor(TensorNames.RopeFreqs, GgmlType.F32, [factors.Length],
                stream => RowWriter.Write(stream, GgmlType.F32, factors.Length, 1, (_, values) => factors.CopyTo(values)));
        }
        for (int l = 0; l < c.LayerCount; l++)
        {
            Vector(TensorNames.AttnNorm(l), c.HiddenSize, random: false);
            if (c.FusedQkv) Matrix(TensorNames.AttnQkv(l), q + 2 * kv, c.HiddenSize);
            else
            {
                Matrix(TensorNames.AttnQ(l), q, c.HiddenSize);
                Matrix(TensorNames.AttnK(l), kv, c.HiddenSize);
                Matrix(TensorNames.AttnV(l), kv, c.HiddenSize);
            }
            if (c.AttentionBias)
            {
                Vector(TensorNames.AttnQBias(l), q, random: true);
                Vector(TensorNames.AttnKBias(l), kv, random: true);
                Vector(TensorNames.AttnVBias(l), kv, random: true);
            }
            if (c.QkNorm)
            {
                Vector(TensorNames.AttnQNorm(l), c.QkNormWhole ? q : c.HeadDim, random: false);
                Vector(TensorNames.AttnKNorm(l), c.QkNormWhole ? kv : c.HeadDim, random: false);
            }
            Matrix(TensorNames.AttnOutput(l), c.HiddenSize, q);
            if (c.PostNorms) Vector(TensorNames.PostAttnNorm(l), c.HiddenSize, random: false);
            Vector(TensorNames.FfnNorm(l), c.HiddenSize, random: false);
            if (c.IsMoe)
            {
                Matrix(TensorNames.FfnRouter(l), c.ExpertCount, c.HiddenSize);
                Matrix(TensorNames.FfnGateExps(l), c.ExpertFfnSize, c.HiddenSize, c.ExpertCount);
                Matrix(TensorNames.FfnUpExps(l), c.ExpertFfnSize, c.HiddenSize, c.ExpertCount);
                Matrix(TensorNames.FfnDownExps(l), c.HiddenSize, c.ExpertFfnSize, c.ExpertCount);
            }
            else if (c.FusedGateUp)
            {
                Matrix(TensorNames.FfnUp(l), 2 * c.IntermediateSize, c.HiddenSize);
                Matrix(TensorNames.FfnDown(l), c.HiddenSize, c.IntermediateSize);
            }
            else
            {
                Matrix(TensorNames.FfnGate(l), c.IntermediateSize, c.HiddenSize);
                Matrix(TensorNames.FfnUp(l), c.IntermediateSize, c.HiddenSize);
                Matrix(TensorNames.FfnDown(l), c.HiddenSize, c.IntermediateSize);
            }
            if (c.PostNorms) Vector(TensorNames.PostFfnNorm(l), c.HiddenSize, random: false);
        }
        Vector(TensorNames.OutputNorm, c.HiddenSize, random: false);
        if (!c.TiedEmbeddings) Matrix(TensorNames.Output, c.VocabSize, c.HiddenSize);
        writer.Write(path, cancel);
    }

    static void AddTokenizer(GgufWriter w, ModelShape shape)
    {
        SyntheticVocabulary vocab = SyntheticVocabulary.Build(shape);
        w.Add(GgufKeys.TokenizerModel, "gpt2");
        w.Add(GgufKeys.TokenizerPre, shape.TokenizerPre);
        w.Add(GgufKeys.Tokens, vocab.Tokens);
        w.Add(GgufKeys.TokenType, vocab.TokenTypes);
        w.Add(GgufKeys.Merges, vocab.Merges);
        w.Add(GgufKeys.BosTokenId, (uint)shape.BosTokenId);
        w.Add(GgufKeys.EosTokenId, (uint)shape.EosTokenId);
        w.Add(GgufKeys.AddBosToken, shape.AddBos);
    }

    /// <summary>Row <paramref name="row"/> of a tensor: N(0, std²) from a counter-based generator, so rows can be made in any order.</summary>
    static void Normal(ulong tensorSeed, long row, Span<float> values, float std)
    {
        ulong state = SplitMix(tensorSeed ^ SplitMix((ulong)row));
        for (int i = 0; i < values.Length; i += 2)
        {
            // Box–Muller on two 24-bit uniforms: u1 in (0, 1], u2 in [0, 1).
            ulong bits = SplitMix(ref state);
            float u1 = ((bits >> 40) + 1) * (1f / (1 << 24)), u2 = ((bits >> 8) & 0xFFFFFF) * (1f / (1 << 24));
            float r = std * MathF.Sqrt(-2 * MathF.Log(u1));
            (float sin, float cos) = MathF.SinCos(2 * MathF.PI * u2);
            values[i] = r * cos;
            if (i + 1 < values.Length) values[i + 1] = r * sin;
        }
    }

    static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
        return x ^ (x >> 31);
    }

    static ulong SplitMix(ref ulong state)
    {
        ulong x = SplitMix(state);
        state += 0x9E3779B97F4A7C15;
        return x;
    }
}
