using SpecDec.Model;
using SpecDec.Model.Heads;
using SpecDec.Tensors;
using SpecDec.Tools.Conversion;
using static SpecDec.Tests.Heads.HeadFixtures;

namespace SpecDec.Tests.Heads;

/// <summary>
/// Head files: the reference folder layouts, `specdec convert` of them to GGUF (Q/K permuted, the base model's
/// fingerprint recorded) computing the same, and one clear error for a head of another model or a pickle.
/// </summary>
public sealed class HeadFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("specdec-heads-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheReferenceFoldersOpenAsTheirKinds()
    {
        using var eagle = HeadFile.Open(Eagle);
        Assert.Equal(HeadFile.EagleKind, eagle.Kind);
        Assert.Equal((128, 352, 4, 2, 32, RopeStyle.Neox), (eagle.Eagle!.HiddenSize, eagle.Eagle.IntermediateSize, eagle.Eagle.HeadCount, eagle.Eagle.KvHeadCount, eagle.Eagle.HeadDim, eagle.Eagle.RopeStyle));
        Assert.Equal(10, eagle.Tensors.Count);
        Assert.Equal("demo-draft-tiny", eagle.Base.Name);
        using var medusa = HeadFile.Open(Medusa);
        Assert.Equal(new MedusaConfig(2, 1, 128, 8192, OwnOutputs: false), medusa.Medusa);
        Assert.True(HeadFile.IsHead(Eagle) && HeadFile.IsHead(Medusa) && !HeadFile.IsHead(Target));
    }

    [Fact]
    public void ConvertedHeadsComputeWhatTheFoldersCompute()
    {
        string eagleGguf = System.IO.Path.Combine(_dir, "eagle.gguf"), medusaGguf = System.IO.Path.Combine(_dir, "medusa.gguf");
        HeadConverter.Convert(Eagle, eagleGguf, GgmlType.F32, Target);
        HeadConverter.Convert(Medusa, medusaGguf, GgmlType.F32, Target);
        using var target = LoadTarget();
        string hash = BaseModelIdentity.HashOf(target.Tokenizer);
        using (var file = HeadFile.Open(eagleGguf))
        {
            Assert.Equal(RopeStyle.Normal, file.Eagle!.RopeStyle); // Q/K rows permuted as for a llama GGUF
            Assert.Equal(new BaseModelIdentity("demo-draft-tiny", 8192, hash), file.Base);
        }
        using (var file = HeadFile.Open(medusaGguf)) Assert.Equal(hash, file.Base.TokenHash);

        // The same rows through the folder's head and the GGUF's: predicted features agree.
        var reference = LoadReference();
        using var folder = LoadEagle(target);
        using var gguf = LoadEagle(target, eagleGguf);
        int rows = 12, h = 128;
        float[] Predict(ILanguageModel head)
        {
            var hidden = new float[rows * h];
            head.Forward(new ForwardBatch
            {
                Tokens = reference.InputIds.AsSpan(1, rows), Features = reference.Features.Take(rows).SelectMany(f => f).ToArray(),
                Positions = Enumerable.Range(0, rows).ToArray(), HiddenLayers = [1], Hidden = hidden,
            }, head.CreateCache(rows), new float[head.Config.VocabSize]);
            return hidden;
        }
        Assert.True(RelativeError(Predict(gguf), Predict(folder)) < 1e-4);

        using var medusaFolder = LoadMedusa(target);
        using var medusaFile = LoadMedusa(target, medusaGguf);
        var a = new float[2 * 8192];
        var b = new float[2 * 8192];
        medusaFolder.Forward(reference.Features[5], a);
        medusaFile.Forward(reference.Features[5], b);
        Assert.True(RelativeError(b, a) < 1e-5);
    }

    [Fact]
    public void AHeadForAnotherModelIsRefusedWithOneClearError()
    {
        using var other = Transformer(Path("tests/fixtures/models/llama-f32"));
        var e = Assert.Throws<ModelFormatException>(() => LoadEagle(other));
        Assert.Contains("hidden size is 128", e.Message);
        Assert.Contains("demo-draft-tiny", e.Message);

        using var target = LoadTarget();
        var wrong = new BaseModelIdentity("another-model", 8192, "fnv1a64:0123456789abcdef");
        e = Assert.Throws<ModelFormatException>(() => wrong.Check(target, 128, "head.gguf"));
        Assert.Contains("base model 'another-model'", e.Message);
        Assert.Contains("vocabulary", e.Message);
    }

    [Fact]
    public void PickleCheckpointsAreRefusedNamingSafetensors()
    {
        string folder = Directory.CreateDirectory(System.IO.Path.Combine(_dir, "eagle-bin")).FullName;
        File.Copy(System.IO.Path.Combine(Eagle, "config.json"), System.IO.Path.Combine(folder, "config.json"));
        File.WriteAllBytes(System.IO.Path.Combine(folder, "pytorch_model.bin"), [0x80, 0x02]);
        var e = Assert.ThrowsAny<SpecDecException>(() => HeadFile.Open(folder));
        Assert.Contains("safetensors", e.Message);

        string medusa = Directory.CreateDirectory(System.IO.Path.Combine(_dir, "medusa-pt")).FullName;
        File.Copy(System.IO.Path.Combine(Medusa, "config.json"), System.IO.Path.Combine(medusa, "config.json"));
        File.WriteAllBytes(System.IO.Path.Combine(medusa, "medusa_lm_head.pt"), [0x80, 0x02]);
        e = Assert.ThrowsAny<SpecDecException>(() => HeadFile.Open(medusa));
        Assert.Contains("medusa_lm_head.safetensors", e.Message);
    }

    [Theory]
    [InlineData("layers.0.input_layernorm.weight", "no input norm")]
    [InlineData("lm_head.weight", "unexpected tensor lm_head.weight")]
    public void AnEagleFolderWithForeignTensorsIsRefused(string extra, string message)
    {
        string folder = Directory.CreateDirectory(System.IO.Path.Combine(_dir, "eagle-extra")).FullName;
        File.Copy(System.IO.Path.Combine(Eagle, "config.json"), System.IO.Path.Combine(folder, "config.json"));
        File.WriteAllBytes(System.IO.Path.Combine(folder, "model.safetensors"),
            Formats.SafetensorsBytes.Build([("fc.bias", "F32", [128], new byte[512]), (extra, "F32", [128], new byte[512])]));
        var e = Assert.ThrowsAny<SpecDecException>(() => HeadFile.Open(folder));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ADraftVocabularyHeadScoresItsTokensAsTheFullHeadDoes()
    {
        string full = System.IO.Path.Combine(_dir, "eagle.gguf"), reduced = System.IO.Path.Combine(_dir, "eagle-d2t.gguf");
        int[] d2t = [.. Enumerable.Range(0, 700).Select(i => 3 + 11 * i)]; // 700 of 8192 tokens, a length no multiple of 8
        HeadConverter.Convert(Eagle, full, GgmlType.Q8_0, Target);
        HeadConverter.Convert(full, reduced, GgmlType.Q8_0, null, draftVocab: d2t);
        using (var file = HeadFile.Open(reduced)) Assert.Equal(d2t, file.DraftVocab);
        using (var file = HeadFile.Open(full)) Assert.Null(file.DraftVocab);

        using var target = LoadTarget();
        using var wide = LoadEagle(target, full);
        using var narrow = LoadEagle(target, reduced);
        Assert.Equal((8192, 8192, 700), (narrow.Config.VocabSize, wide.Config.LogitCount, narrow.Config.LogitCount));
        var reference = LoadReference();
        int rows = 6;
        float[] Logits(ILanguageModel head)
        {
            var logits = new float[rows * head.Config.LogitCount];
            head.Forward(new ForwardBatch
            {
                Tokens = reference.InputIds.AsSpan(1, rows), Features = reference.Features.Take(rows).SelectMany(f => f).ToArray(),
                Positions = Enumerable.Range(0, rows).ToArray(), LogitRows = Enumerable.Range(0, rows).ToArray(),
            }, head.CreateCache(rows), logits);
            return logits;
        }
        float[] all = Logits(wide), some = Logits(narrow);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < d2t.Length; j++)
                Assert.Equal(all[r * 8192 + d2t[j]], some[r * d2t.Length + j], 5);

        // Re-converting keeps the vocabulary; a repeated id is refused before anything is written.
        string again = System.IO.Path.Combine(_dir, "again.gguf");
        HeadConverter.Convert(reduced, again, GgmlType.Q8_0, null);
        using (var file = HeadFile.Open(again)) Assert.Equal(d2t, file.DraftVocab);
        var e = Assert.Throws<SpecDecException>(() => HeadConverter.Convert(full, System.IO.Path.Combine(_dir, "bad.gguf"), GgmlType.Q8_0, null, draftVocab: [5, 9, 5]));
        Assert.Contains("distinct", e.Message);
    }

    [Fact]
    public void TheDraftVocabularyIsTheMostFrequentTokensWithEachFileWeighingTheSame()
    {
        using var target = LoadTarget();
        string big = System.IO.Path.Combine(_dir, "big.txt"), small = System.IO.Path.Combine(_dir, "small.txt");
        File.WriteAllText(big, string.Concat(Enumerable.Repeat(" cat cat dog", 300)));
        File.WriteAllText(small, " fish");
        int Id(string word) => Assert.Single(target.Tokenizer.Encode(word, addSpecial: false));
        // big: cat 2/3, dog 1/3; small: fish 1. Shares: fish 1 > cat 2/3 > dog 1/3, however long big is.
        Assert.Equal(new[] { Id(" fish"), Id(" cat") }.Order(), DraftVocabulary.FromText(target.Tokenizer, 8192, [big, small], 2));
        Assert.Throws<SpecDecException>(() => DraftVocabulary.FromText(target.Tokenizer, 8192, [big], 0));
    }

    private static SpecDec.Backends.Cpu.Transformer Transformer(string path) => SpecDec.Backends.Cpu.Transformer.Load(ModelSource.Open(path), threads: 1);
}
