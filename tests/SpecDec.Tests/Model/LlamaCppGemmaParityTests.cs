using System.Text.Json;
using System.Text.Json.Nodes;
using SpecDec.Backends.Cpu;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tools.Conversion;
using static SpecDec.Tests.Model.TinyModels;

namespace SpecDec.Tests.Model;

/// <summary>
/// Gemma 2 and 3 against llama.cpp itself: tiny Hugging Face folders (seeded, as <see cref="TinyHf"/> writes
/// them) converted to F32 GGUF by our converter, and the logits llama.cpp computed for those very files
/// (tests/fixtures/models/llamacpp-gemma, recorded with llama.cpp's libllama from the node-llama-cpp 3.22.1
/// release; README there). Gemma 2 uses llama.cpp's default layer pattern (every 2nd layer global), Gemma 3
/// its default 6 (so 6 layers, the last global) with linear RoPE scaling on the global layer.
/// </summary>
public sealed class LlamaCppGemmaParityTests
{
    internal static readonly int[] Tokens = [3, 17, 5, 30, 2, 11, 8, 25, 1, 14];

    internal static TinyHf Folder(string arch) => arch == "gemma2"
        ? new TinyHf { Architecture = "Gemma2ForCausalLM", Tied = true, Layers = 3 }
        : new TinyHf
        {
            Architecture = "Gemma3ForCausalLM", Tied = true, Layers = 6, HeadDim = 32,
            EditConfig = j =>
            {
                j["rope_scaling"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 4.0 };
                j["layer_types"] = new JsonArray([.. Enumerable.Range(0, 6).Select(l => (JsonNode)(l < 5 ? "sliding_attention" : "full_attention"))]);
            },
        };

    static string FixtureDir => Path.Combine(Path.GetDirectoryName(Tokenization.TokenizerFixtures.Root)!, "models", "llamacpp-gemma");

    [Theory]
    [InlineData("gemma2")]
    [InlineData("gemma3")]
    public void LogitsOfTheConvertedGgufMatchLlamaCpps(string arch)
    {
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, arch), gguf = dir.File(arch + ".gguf");
        Folder(arch).Write(folder);
        GgufConverter.Convert(folder, gguf, GgmlType.F32);
        if (Environment.GetEnvironmentVariable("SPECDEC_WRITE_GEMMA_GGUF") is string outDir) File.Copy(gguf, Path.Combine(outDir, arch + ".gguf"), true);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir, arch + ".json")));
        Assert.Equal(Tokens, doc.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()));
        float[][] expected = [.. doc.RootElement.GetProperty("logits").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray())];

        using Transformer model = Transformer.Load(GgufModelSource.Open(gguf), threads: 2);
        int vocab = model.Config.VocabSize;
        float[] actual = Forward(model, model.CreateCache(16), Tokens, Range(0, Tokens.Length), logitRows: Range(0, Tokens.Length));
        for (int r = 0; r < Tokens.Length; r++)
        {
            float scale = expected[r].Max(MathF.Abs);
            // llama.cpp's GELU reads an f16 table: agreement to about 1e-3 of the logits' range.
            AssertClose(expected[r], actual.AsSpan(r * vocab, vocab), 2e-3f * scale, $"{arch} row {r}");
            Assert.Equal(Array.IndexOf(expected[r], expected[r].Max()), actual.AsSpan(r * vocab, vocab).IndexOf(actual.AsSpan(r * vocab, vocab).ToArray().Max()));
        }
    }
}
