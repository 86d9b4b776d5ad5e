using System.Text.Json;
using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tools.Conversion;
using SpecDec.Tools.Quantization;

namespace SpecDec.Tests.Tools.Quantization;

/// <summary>
/// The trained llama fixture (hidden 64, so the 32-blocks apply; the K-quants would fall back to Q8_0), converted
/// to GGUF and quantized, against transformers' greedy continuation recorded in its expected.json.
/// </summary>
public class QuantizedFixtureTests
{
    static int[] Greedy(string path, int[] prompt, int count)
    {
        using Transformer model = Transformer.Load(GgufModelSource.Open(path), threads: 2);
        IKvCache cache = model.CreateCache(prompt.Length + count);
        var logits = new float[model.Config.VocabSize];
        var ids = new List<int>();
        int[] positions = Enumerable.Range(0, prompt.Length + count).ToArray();
        model.Forward(ForwardBatch.Causal(prompt, positions.AsSpan(0, prompt.Length)), cache, logits);
        for (int i = 0; i < count; i++)
        {
            int next = 0;
            for (int v = 1; v < logits.Length; v++)
                if (logits[v] > logits[next]) next = v;
            ids.Add(next);
            if (i + 1 < count)
                model.Forward(ForwardBatch.Causal([next], positions.AsSpan(prompt.Length + i, 1)), cache, logits);
        }
        return ids.ToArray();
    }

    static int[] PromptIds(JsonDocument expected) =>
        expected.RootElement.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    static string Quantized(string fixtureDir, TempDirectory tmp, QuantScheme scheme)
    {
        string f32 = tmp.File("f32.gguf"), quantized = tmp.File($"{scheme}.gguf");
        GgufConverter.Convert(fixtureDir, f32, GgmlType.F32);
        GgufQuantizer.Quantize(f32, quantized, scheme);
        return quantized;
    }

    [Fact]
    public void Q8_0_KeepsTransformersGreedyContinuation()
    {
        // Q8_0's weight error (≈0.5 % RMS) moves the logits by far less than the fixture's smallest top-2 margin.
        string dir = ModelFixtures.Dir("llama-f32");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        int[] prompt = PromptIds(doc);
        int[] greedy = doc.RootElement.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        using var tmp = new TempDirectory();
        string path = Quantized(dir, tmp, QuantScheme.Q8_0);
        using (GgufFile file = GgufFile.Open(path))
            Assert.Contains(file.Tensors, t => t.Type == GgmlType.Q8_0);
        Assert.Equal(greedy, Greedy(path, prompt, greedy.Length));
    }

    [Fact]
    public void Q4_0_PromptLogitsStayWithinTheErrorTheWeightsAllow()
    {
        // 4-bit weights change this tiny model's continuation after a few tokens (its smallest margin is 0.1),
        // so Q4_0 is held to the logits: relative RMS error ≤ √M·ε with M = 7·layers + 1 matmuls and
        // ε = 0.087 (Q4_0's RMS weight error on Gaussian weights, see QuantizedModelTests).
        string dir = ModelFixtures.Dir("llama-f32");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        int[] prompt = PromptIds(doc);
        float[][] reference = doc.RootElement.GetProperty("logits").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        using var tmp = new TempDirectory();
        using Transformer model = Transformer.Load(GgufModelSource.Open(Quantized(dir, tmp, QuantScheme.Q4_0)), threads: 2);
        int vocab = model.Config.VocabSize;
        int[] positions = Enumerable.Range(0, prompt.Length).ToArray();
        var logits = new float[prompt.Length * vocab];
        model.Forward(new ForwardBatch { Tokens = prompt, Positions = positions, LogitRows = positions }, model.CreateCache(prompt.Length), logits);
        double err = 0, norm = 0;
        for (int r = 0; r < prompt.Length; r++)
            for (int v = 0; v < vocab; v++)
            {
                double d = logits[r * vocab + v] - reference[r][v];
                err += d * d;
                norm += (double)reference[r][v] * reference[r][v];
            }
        double bound = Math.Sqrt(7 * model.Config.LayerCount + 1) * 0.087;
        Assert.True(Math.Sqrt(err / norm) <= bound, $"relative logit RMSE {Math.Sqrt(err / norm):F4} > {bound:F4}");
        Assert.True(Math.Sqrt(err / norm) > 0.001, "Q4_0 logits equal F32's: was anything quantized?");
    }
}
