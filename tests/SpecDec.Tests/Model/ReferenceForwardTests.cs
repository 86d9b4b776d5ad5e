using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tests.Kernels;
using SpecDec.Tools.Synthetic;
using static SpecDec.Tests.Model.TinyModels;

namespace SpecDec.Tests.Model;

/// <summary>
/// The engine against a plain double-precision transcription of the Hugging Face modeling code
/// (LlamaForCausalLM / Qwen2 / Qwen3 / Gemma2 / Gemma3): full causal recompute, no cache, no SIMD, no chunking.
/// Gemma follows modeling_gemma2.py / modeling_gemma3.py: embeddings × √H (here the config's scale), RMSNorm by
/// (offset + w), sandwich norms, GELU-tanh gate, scores × query_pre_attn_scalar^−½ then soft-capped, sliding
/// layers that see keys less than the window behind and rotate with the local base, final logit soft-cap.
/// The transformers fixtures check the same thing against PyTorch itself once they land.
/// </summary>
public class ReferenceForwardTests
{
    [Theory]
    [InlineData("llama", false)]
    [InlineData("llama", true)] // llama.cpp's rope_freqs.weight instead of the config's llama3 scaling
    [InlineData("qwen2", false)]
    [InlineData("qwen3", false)]
    [InlineData("gemma2", false)]
    [InlineData("gemma3", false)]
    public void Logits_of_every_row_match_the_reference(string arch, bool ropeFreqs)
    {
        ModelConfig c = Config(arch);
        if (ropeFreqs) c = c with { RopeScaling = null };
        int[] tokens = [3, 50, 7, 7, 91, 12, 40, 65, 2, 33];
        double[][] expected;
        using (var source = new SyntheticModelSource(c, GgmlType.F32, seed: 4, ropeFreqs))
            expected = Reference(source, tokens);
        using Transformer model = Transformer.Load(new SyntheticModelSource(c, GgmlType.F32, seed: 4, ropeFreqs), threads: 2);
        float[] actual = Forward(model, model.CreateCache(16), tokens, Range(0, tokens.Length), logitRows: Range(0, tokens.Length));
        for (int r = 0; r < tokens.Length; r++)
            AssertClose(expected[r].Select(v => (float)v).ToArray(), actual.AsSpan(r * c.VocabSize, c.VocabSize), 1e-4f, $"{arch} row {r}");
    }

    /// <summary>
    /// An explicit mask that is no tree (row 2 sees row 1 but not row 0, which row 1 sees; row 4 skips 3), at
    /// positions that repeat as a lookahead window's do: each row attends to exactly the rows its mask names.
    /// </summary>
    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    [InlineData("gemma2")]
    [InlineData("gemma3")]
    public void An_explicit_mask_matches_the_reference(string arch)
    {
        ModelConfig c = Config(arch);
        int[] tokens = [3, 50, 7, 91, 12, 40];
        int[] positions = [0, 1, 1, 2, 2, 3];
        ulong[] mask = [0b1, 0b11, 0b110, 0b1011, 0b10101, 0b101101];
        double[][] expected;
        using (var source = new SyntheticModelSource(c, GgmlType.F32, seed: 4))
            expected = Reference(source, tokens, positions, (i, j) => (mask[i] >> j & 1) != 0);
        using Transformer model = Transformer.Load(new SyntheticModelSource(c, GgmlType.F32, seed: 4), threads: 2);
        var actual = new float[tokens.Length * c.VocabSize];
        model.Forward(new ForwardBatch { Tokens = tokens, Positions = positions, Mask = mask, LogitRows = Range(0, tokens.Length) },
            model.CreateCache(16), actual);
        for (int r = 0; r < tokens.Length; r++)
            AssertClose(expected[r].Select(v => (float)v).ToArray(), actual.AsSpan(r * c.VocabSize, c.VocabSize), 1e-4f, $"{arch} row {r}");
    }

    /// <summary>Logits of every row; row i at <paramref name="positions"/>[i] attends to the rows j ≤ i that <paramref name="sees"/> (default: all).</summary>
    internal static double[][] Reference(IModelSource s, int[] tokens, int[]? positions = null, Func<int, int, bool>? sees = null)
    {
        positions ??= Range(0, tokens.Length);
        sees ??= (_, _) => true;
        ModelConfig c = s.Config;
        int n = tokens.Length, h = c.HiddenSize, d = c.HeadDim, heads = c.HeadCount, kvHeads = c.KvHeadCount;
        double[] NormW(string name) => Vec(s, name).Select(w => w + c.NormWeightOffset).ToArray();
        double[][] x = tokens.Select(t => Row(s, TensorNames.TokenEmbedding, t).Select(v => v * c.EmbeddingScale).ToArray()).ToArray();
        double[] global = Frequencies(c).Select(f => f / c.RopeLinearFactor).ToArray();
        double[] local = Enumerable.Range(0, d / 2).Select(j => Math.Pow(c.SlidingRopeTheta ?? c.RopeTheta, -2.0 * j / d)).ToArray();
        if (s.Find(TensorNames.RopeFreqs) != null)
        {
            double[] factors = Vec(s, TensorNames.RopeFreqs);
            for (int j = 0; j < global.Length; j++) global[j] /= factors[j];
        }
        double scale = c.AttentionScale ?? 1 / Math.Sqrt(d);
        double Cap(double v, float cap) => cap > 0 ? cap * Math.Tanh(v / cap) : v;
        for (int l = 0; l < c.LayerCount; l++)
        {
            bool sliding = c.IsSliding(l);
            double[] inv = sliding ? local : global;
            double[][] hn = x.Select(v => Norm(v, NormW(TensorNames.AttnNorm(l)), c.RmsNormEps)).ToArray();
            double[][] q = hn.Select(v => MatVec(s, TensorNames.AttnQ(l), v)).ToArray();
            double[][] k = hn.Select(v => MatVec(s, TensorNames.AttnK(l), v)).ToArray();
            double[][] vv = hn.Select(v => MatVec(s, TensorNames.AttnV(l), v)).ToArray();
            if (c.AttentionBias)
                for (int i = 0; i < n; i++)
                {
                    AddInPlace(q[i], Vec(s, TensorNames.AttnQBias(l)));
                    AddInPlace(k[i], Vec(s, TensorNames.AttnKBias(l)));
                    AddInPlace(vv[i], Vec(s, TensorNames.AttnVBias(l)));
                }
            for (int i = 0; i < n; i++)
            {
                for (int hh = 0; hh < heads; hh++) HeadTransform(q[i], hh, d, positions[i], inv, c, c.QkNorm ? NormW(TensorNames.AttnQNorm(l)) : null);
                for (int hh = 0; hh < kvHeads; hh++) HeadTransform(k[i], hh, d, positions[i], inv, c, c.QkNorm ? NormW(TensorNames.AttnKNorm(l)) : null);
            }
            var att = new double[n][];
            for (int i = 0; i < n; i++)
            {
                att[i] = new double[heads * d];
                for (int hh = 0; hh < heads; hh++)
                {
                    int g = hh / (heads / kvHeads);
                    int[] seen = Enumerable.Range(0, i + 1)
                        .Where(t => sees(i, t) && (!sliding || positions[i] - positions[t] < c.SlidingWindow)).ToArray();
                    double[] scores = seen.Select(t => Cap(Enumerable.Range(0, d).Sum(e => q[i][hh * d + e] * k[t][g * d + e]) * scale, c.AttentionSoftcap)).ToArray();
                    double max = scores.Max(), sum = scores.Sum(v => Math.Exp(v - max));
                    for (int u = 0; u < seen.Length; u++)
                        for (int e = 0; e < d; e++) att[i][hh * d + e] += Math.Exp(scores[u] - max) / sum * vv[seen[u]][g * d + e];
                }
            }
            for (int i = 0; i < n; i++)
            {
                double[] o = MatVec(s, TensorNames.AttnOutput(l), att[i]);
                AddInPlace(x[i], c.PostNorms ? Norm(o, NormW(TensorNames.PostAttnNorm(l)), c.RmsNormEps) : o);
            }
            for (int i = 0; i < n; i++)
            {
                double[] f = Norm(x[i], NormW(TensorNames.FfnNorm(l)), c.RmsNormEps);
                double[] gate = MatVec(s, TensorNames.FfnGate(l), f), up = MatVec(s, TensorNames.FfnUp(l), f);
                double[] act = gate.Select((g, j) => Activation(g, c.Activation) * up[j]).ToArray();
                double[] down = MatVec(s, TensorNames.FfnDown(l), act);
                AddInPlace(x[i], c.PostNorms ? Norm(down, NormW(TensorNames.PostFfnNorm(l)), c.RmsNormEps) : down);
            }
        }
        string head = c.TiedEmbeddings ? TensorNames.TokenEmbedding : TensorNames.Output;
        return x.Select(v => MatVec(s, head, Norm(v, NormW(TensorNames.OutputNorm), c.RmsNormEps)).Select(z => Cap(z, c.FinalLogitSoftcap)).ToArray()).ToArray();
    }

    /// <summary>silu(g) = g·σ(g); gelu_pytorch_tanh(g) = ½g(1 + tanh(√(2/π)(g + 0.044715g³))).</summary>
    static double Activation(double g, FfnActivation act) => act == FfnActivation.Silu
        ? g / (1 + Math.Exp(-g))
        : 0.5 * g * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)));

    /// <summary>Optional per-head RMSNorm (Qwen3), then rotate_half RoPE (or adjacent pairs for GGUF llama).</summary>
    static void HeadTransform(double[] v, int head, int d, int position, double[] inv, ModelConfig c, double[]? norm)
    {
        var x = new double[d];
        Array.Copy(v, head * d, x, 0, d);
        if (norm != null) x = Norm(x, norm, c.RmsNormEps);
        var o = new double[d];
        for (int j = 0; j < d / 2; j++)
        {
            int a = c.RopeStyle == RopeStyle.Neox ? j : 2 * j, b = c.RopeStyle == RopeStyle.Neox ? j + d / 2 : 2 * j + 1;
            double angle = position * inv[j];
            o[a] = x[a] * Math.Cos(angle) - x[b] * Math.Sin(angle);
            o[b] = x[b] * Math.Cos(angle) + x[a] * Math.Sin(angle);
        }
        Array.Copy(o, 0, v, head * d, d);
    }

    static double[] Frequencies(ModelConfig c) => c.RopeScaling is { } r
        ? RopeTests.Llama3Reference(c.HeadDim, c.RopeTheta, r.Factor, r.LowFreqFactor, r.HighFreqFactor, r.OriginalContextLength)
        : Enumerable.Range(0, c.HeadDim / 2).Select(j => Math.Pow(c.RopeTheta, -2.0 * j / c.HeadDim)).ToArray();

    static double[] Norm(double[] x, double[] w, double eps)
    {
        double scale = 1 / Math.Sqrt(x.Sum(v => v * v) / x.Length + eps);
        return x.Select((v, i) => v * scale * w[i]).ToArray();
    }

    static void AddInPlace(double[] x, double[] y)
    {
        for (int i = 0; i < x.Length; i++) x[i] += y[i];
    }

    static unsafe double[] Row(IModelSource s, string name, long row)
    {
        WeightTensor t = s.Find(name)!;
        var p = (float*)t.Data + row * t.RowLength;
        return Enumerable.Range(0, t.RowLength).Select(i => (double)p[i]).ToArray();
    }

    internal static double[] Vec(IModelSource s, string name) => Row(s, name, 0);

    /// <summary>W·x for W of GGUF dims [in, out]: out rows of in elements.</summary>
    static double[] MatVec(IModelSource s, string name, double[] x)
    {
        WeightTensor t = s.Find(name)!;
        var y = new double[t.RowCount];
        for (int r = 0; r < y.Length; r++)
        {
            double[] w = Row(s, name, r);
            for (int i = 0; i < x.Length; i++) y[r] += w[i] * x[i];
        }
        return y;
    }
}
