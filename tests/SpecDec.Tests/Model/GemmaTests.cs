using System.Text.Json.Nodes;
using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tests.Formats;
using SpecDec.Tools.Conversion;
using SpecDec.Tensors;
using static SpecDec.Tests.Model.TinyModels;

namespace SpecDec.Tests.Model;

/// <summary>
/// Gemma 2/3 from Hugging Face folders (config fields as transformers names them, norms stored as w) against
/// the reference transcription of modeling_gemma2/3.py, and what the GGUF converter makes of them.
/// </summary>
public sealed class GemmaTests
{
    static TinyHf Folder(string arch) => arch == "gemma2"
        ? new TinyHf { Architecture = "Gemma2ForCausalLM", Tied = true, Layers = 3, EditConfig = j => j["query_pre_attn_scalar"] = 24 }
        : new TinyHf { Architecture = "Gemma3ForCausalLM", Tied = true, Layers = 3, HeadDim = 32,
            EditConfig = j => j["rope_scaling"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 4.0 } };

    [Theory]
    [InlineData("gemma2")]
    [InlineData("gemma3")]
    public void HfFolderMatchesTheReferenceBeyondTheWindow(string arch)
    {
        using var dir = new TempDirectory();
        Folder(arch).Write(dir.Path);
        int[] tokens = [3, 17, 5, 30, 2, 11, 8, 25, 1, 14];
        double[][] expected;
        using (var source = HfModelSource.Open(dir.Path)) expected = ReferenceForwardTests.Reference(source, tokens);
        using Transformer model = Transformer.Load(HfModelSource.Open(dir.Path), threads: 2);
        float[] actual = Forward(model, model.CreateCache(16), tokens, Range(0, tokens.Length), logitRows: Range(0, tokens.Length));
        int vocab = model.Config.VocabSize;
        for (int r = 0; r < tokens.Length; r++)
            AssertClose(expected[r].Select(v => (float)v).ToArray(), actual.AsSpan(r * vocab, vocab), 2e-4f, $"{arch} row {r}");
    }

    [Fact]
    public void ConfigFieldsAreReadAsTransformersMeansThem()
    {
        using var dir = new TempDirectory();
        Folder("gemma2").Write(Path.Combine(dir.Path, "g2"));
        Folder("gemma3").Write(Path.Combine(dir.Path, "g3"));
        ModelConfig g2 = HfConfigReader.Read(Path.Combine(dir.Path, "g2", "config.json"));
        ModelConfig g3 = HfConfigReader.Read(Path.Combine(dir.Path, "g3", "config.json"));
        Assert.Equal((FfnActivation.GeluTanh, 1f, 8f, true), (g2.Activation, g2.NormWeightOffset, g2.EmbeddingScale, g2.PostNorms));
        Assert.Equal((3f, 5f, 3), (g2.AttentionSoftcap, g2.FinalLogitSoftcap, g2.SlidingWindow));
        Assert.Equal([true, false, true], g2.SlidingLayers);  // Gemma 2: even layers slide
        Assert.Equal(1 / Math.Sqrt(24), g2.AttentionScale!.Value, 6);
        Assert.Equal((true, 0f, 0f, 4f, 10000f, 1e6f), (g3.QkNorm, g3.AttentionSoftcap, g3.FinalLogitSoftcap, g3.RopeLinearFactor, g3.SlidingRopeTheta, g3.RopeTheta));
    }

    [Fact]
    public void ConvertedGgufReadsBackAsLlamaCppWouldWriteIt()
    {
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, "g3");
        var values = Folder("gemma3").Write(folder);
        string gguf = dir.File("g3.gguf");
        GgufConverter.Convert(folder, gguf, GgmlType.F32);
        using var source = GgufModelSource.Open(gguf);
        ModelConfig hf = HfConfigReader.Read(Path.Combine(folder, "config.json")), c = source.Config;
        Assert.Equal("gemma3", c.Architecture);
        Assert.Equal(0f, c.NormWeightOffset); // the file's norms already hold 1 + w
        Assert.Equal(hf.SlidingLayers, c.SlidingLayers);
        Assert.Equal((hf.SlidingWindow, hf.SlidingRopeTheta, hf.RopeTheta, hf.RopeLinearFactor, hf.QkNorm),
            (c.SlidingWindow, c.SlidingRopeTheta, c.RopeTheta, c.RopeLinearFactor, c.QkNorm));
        Assert.Equal(values["model.layers.1.pre_feedforward_layernorm.weight"].Select(w => w + 1),
            ReferenceForwardTests.Vec(source, TensorNames.FfnNorm(1)).Select(v => (float)v));
    }
}
