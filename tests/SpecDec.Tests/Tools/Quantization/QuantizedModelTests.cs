using SpecDec.Backends.Cpu;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tests.Formats;
using SpecDec.Tests.Tools.Synthetic;
using SpecDec.Tools.Quantization;
using SpecDec.Tools.Synthetic;

namespace SpecDec.Tests.Tools.Quantization;

/// <summary>
/// A model quantized by `specdec quantize` runs through the real loader and Transformer and gives logits close to
/// the F32 model it came from (random weights, llama shape with hidden 256 so the K-quants apply, 8 layers).
/// </summary>
public class QuantizedModelTests(QuantizedModelTests.F32Model f32) : IClassFixture<QuantizedModelTests.F32Model>
{
    const int Rows = 24;

    /// <summary>The F32 model and its logits, made once for all the tests here.</summary>
    public sealed class F32Model : IDisposable
    {
        internal readonly TempDirectory Dir = new();
        public readonly string Path;
        public readonly float[] Logits;
        public readonly int Vocab;

        public F32Model()
        {
            Path = Dir.File("f32.gguf");
            SyntheticModel.Write(TinyShapes.Llama, QuantScheme.F32, Path, seed: 11);
            Logits = QuantizedModelTests.Logits(Path, out Vocab);
        }

        public void Dispose() => Dir.Dispose();
    }

    float[] Quantized(QuantScheme scheme)
    {
        string path = f32.Dir.File($"{scheme}.gguf");
        if (!File.Exists(path)) GgufQuantizer.Quantize(f32.Path, path, scheme);
        return Logits(path, out _);
    }

    static float[] Logits(string path, out int vocab)
    {
        using Transformer model = Transformer.Load(GgufModelSource.Open(path), threads: 2);
        vocab = model.Config.VocabSize;
        int[] tokens = Enumerable.Range(0, Rows).Select(i => (i * 37 + 5) % 1000).ToArray();
        int[] positions = Enumerable.Range(0, Rows).ToArray();
        var logits = new float[Rows * vocab];
        IKvCache cache = model.CreateCache(Rows);
        model.Forward(new ForwardBatch { Tokens = tokens, Positions = positions, LogitRows = positions }, cache, logits);
        return logits;
    }

    static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
            if (row[i] > row[best]) best = i;
        return best;
    }

    // Relative RMS weight error of each type on Gaussian weights (BlockRoundTripTests measures these).
    // Each of the M = 7·layers + 1 matmuls on the way to the logits adds an independent relative error of
    // about ε to its output; the residual stream and RMSNorm keep them relative, so they add in quadrature:
    // the logits' relative RMS error is at most √M·ε (observed: about half of that).
    [Theory]
    [InlineData(QuantScheme.Q8_0, 0.0055)]
    [InlineData(QuantScheme.Q6_K, 0.018)]
    [InlineData(QuantScheme.Q4_K_M, 0.072)]
    [InlineData(QuantScheme.Q4_K, 0.072)]
    [InlineData(QuantScheme.Q4_0, 0.087)]
    public void QuantizedLogitsStayWithinTheErrorTheWeightsAllow(QuantScheme scheme, double weightError)
    {
        float[] reference = f32.Logits, y = Quantized(scheme);
        int vocab = f32.Vocab;

        double rms = Math.Sqrt(reference.Average(v => (double)v * v));
        double rmse = Math.Sqrt(reference.Zip(y, (a, b) => (double)(a - b) * (a - b)).Average());
        double bound = Math.Sqrt(7 * TinyShapes.Llama.Config.LayerCount + 1) * weightError;
        Assert.True(rmse / rms <= bound, $"{scheme}: relative logit RMSE {rmse / rms:F4} > {bound:F4}");
        Assert.True(rmse / rms >= bound / 8, $"{scheme}: relative logit RMSE {rmse / rms:F4} is implausibly small: did it quantize?");

        // The largest of ~26k roughly Gaussian errors stays within 5 RMS; where F32's top-2 margin exceeds twice
        // that, the greedy token cannot change.
        double maxAbs = reference.Zip(y, (a, b) => Math.Abs(a - b)).Max(), allowed = 5 * bound * rms;
        Assert.True(maxAbs <= allowed, $"{scheme}: max logit error {maxAbs:F4} > {allowed:F4}");
        for (int r = 0; r < Rows; r++)
        {
            float[] sorted = reference.AsSpan(r * vocab, vocab).ToArray().Order().ToArray();
            if (sorted[^1] - sorted[^2] > 2 * allowed)
                Assert.Equal(ArgMax(reference.AsSpan(r * vocab, vocab)), ArgMax(y.AsSpan(r * vocab, vocab)));
        }
    }

    [Fact]
    public void Q8_0_KeepsTheGreedyTokenWhereverTheMarginAllows()
    {
        float[] reference = f32.Logits, y = Quantized(QuantScheme.Q8_0);
        int vocab = f32.Vocab;
        double allowed = 5 * Math.Sqrt(57) * 0.0055 * Math.Sqrt(reference.Average(v => (double)v * v));
        int checkedRows = 0;
        for (int r = 0; r < Rows; r++)
        {
            float[] sorted = reference.AsSpan(r * vocab, vocab).ToArray().Order().ToArray();
            if (sorted[^1] - sorted[^2] <= 2 * allowed) continue;
            checkedRows++;
            Assert.Equal(ArgMax(reference.AsSpan(r * vocab, vocab)), ArgMax(y.AsSpan(r * vocab, vocab)));
        }
        Assert.True(checkedRows >= 2, $"only {checkedRows} rows had a margin above {2 * allowed:F3}");
    }
}
