using SpecDec.Formats.Gguf;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>
/// Token ids identical to llama.cpp's tokenizer test suite (models/ggml-vocab-*.gguf.inp/.out) for every decoder
/// vocabulary in it, on the cut-down vocabularies in tests/fixtures/tokenizers/llamacpp.
/// </summary>
public sealed class LlamaCppVocabTests
{
    public static TheoryData<string> Names => [.. LlamaCppVocab.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryTestStringGivesLlamaCppsIds(string name)
    {
        var (metadata, cases) = LlamaCppVocab.LoadFixture(name);
        var tokenizer = TokenizerFactory.FromGgufMetadata(metadata, name + ".gguf");
        Assert.True(cases.Count >= 40, $"{name}: {cases.Count} cases");
        foreach (var c in cases)
            Assert.True(c.Ids.SequenceEqual(tokenizer.Encode(c.Text, addSpecial: false, parseSpecial: false)),
                $"{name}: '{c.Text}' → [{string.Join(' ', tokenizer.Encode(c.Text, false, false))}], llama.cpp [{string.Join(' ', c.Ids)}]");
    }

    /// <summary>
    /// The full vocabularies, where llama.cpp's models/ folder is given in SPECDEC_LLAMACPP_MODELS (this machine
    /// has none in CI: the check then has nothing to read). With SPECDEC_WRITE_VOCAB_FIXTURES=1 it also rewrites
    /// the cut-down fixtures from them.
    /// </summary>
    [Fact]
    public void FullLlamaCppVocabulariesWhenGiven()
    {
        string? dir = Environment.GetEnvironmentVariable("SPECDEC_LLAMACPP_MODELS");
        if (dir is null) return;
        var failures = new List<string>();
        foreach (string name in LlamaCppVocab.Names)
        {
            string gguf = Path.Combine(dir, $"ggml-vocab-{name}.gguf");
            var cases = LlamaCppVocab.ReadCases(gguf + ".inp", gguf + ".out");
            using var file = GgufFile.Open(gguf);
            var tokenizer = TokenizerFactory.FromGgufMetadata(file.Metadata, gguf);
            var wrong = cases.Where(c => !c.Ids.SequenceEqual(tokenizer.Encode(c.Text, addSpecial: false, parseSpecial: false))).ToList();
            foreach (var c in wrong)
                failures.Add($"{name}: '{c.Text}' → [{string.Join(' ', tokenizer.Encode(c.Text, false, false))}], llama.cpp [{string.Join(' ', c.Ids)}]");
            if (Environment.GetEnvironmentVariable("SPECDEC_WRITE_VOCAB_FIXTURES") == "1")
                LlamaCppVocab.WriteFixture(name, file.Metadata, cases, LlamaCppVocab.FixtureDir);
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }
}
