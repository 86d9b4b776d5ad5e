using System.Text.Json.Nodes;
using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tokenization;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Tools.Conversion;

/// <summary>The tokenizer.* keys convert writes, and that the GGUF tokenizer then encodes like tokenizer.json.</summary>
public sealed class GgufTokenizerMetadataTests
{
    private static (GgufModelSource Gguf, string Folder) Convert(TinyHf model, TempDirectory dir)
    {
        string folder = Path.Combine(dir.Path, "hf");
        model.Write(folder);
        string output = dir.File("out.gguf");
        GgufConverter.Convert(folder, output, GgmlType.F32);
        return (GgufModelSource.Open(output), folder);
    }

    private static void AssertSameEncoding(string folder, GgufModelSource gguf, params string[] texts)
    {
        ITokenizer json = TokenizerFactory.FromTokenizerJson(Path.Combine(folder, "tokenizer.json"));
        ITokenizer fromGguf = gguf.Tokenizer;
        foreach (string text in texts)
        {
            Assert.Equal(json.Encode(text), fromGguf.Encode(text));
            Assert.Equal(json.Encode(text, addSpecial: false), fromGguf.Encode(text, addSpecial: false));
        }
    }

    [Fact]
    public void ByteLevelBpeBecomesGpt2WithMergesAndPaddedRows()
    {
        using var dir = new TempDirectory();
        (GgufModelSource gguf, string folder) = Convert(new TinyHf { Vocab = 40 }, dir);
        using (gguf)
        {
            IReadOnlyDictionary<string, object> m = gguf.Metadata;
            Assert.Equal("gpt2", m[GgufKeys.TokenizerModel]);
            Assert.Equal("gpt-2", m[GgufKeys.TokenizerPre]);
            string[] tokens = Assert.IsType<string[]>(m[GgufKeys.Tokens]);
            Assert.Equal(40, tokens.Length); // one per embedding row
            Assert.Equal(["a", "b", "ab", "abc", "<|endoftext|>", "[PAD26]", "[PAD39]"], new[] { tokens[0], tokens[1], tokens[13], tokens[14], tokens[25], tokens[26], tokens[39] });
            int[] types = Assert.IsType<int[]>(m[GgufKeys.TokenType]);
            Assert.All(types[..25], t => Assert.Equal(1, t));
            Assert.Equal(3, types[25]);
            Assert.All(types[26..], t => Assert.Equal(5, t));
            string[] merges = Assert.IsType<string[]>(m[GgufKeys.Merges]);
            Assert.Equal(["a b", "ab c", "abc d"], merges[..3]);
            Assert.False(Assert.IsType<bool>(m[GgufKeys.AddBosToken]));
            Assert.False(m.ContainsKey(GgufKeys.Scores));
            AssertSameEncoding(folder, gguf, "abcd", "ab ba cab", "<|endoftext|>abc");
        }
    }

    [Fact]
    public void SentencePieceStyleBpeBecomesLlamaWithScoresAndByteTokens()
    {
        using var dir = new TempDirectory();
        var model = new TinyHf { Vocab = 265, Tokenizer = TinySpmTokenizer.Json(), TokenizerConfig = TinySpmTokenizer.Config() };
        (GgufModelSource gguf, string folder) = Convert(model, dir);
        using (gguf)
        {
            IReadOnlyDictionary<string, object> m = gguf.Metadata;
            Assert.Equal("llama", m[GgufKeys.TokenizerModel]);
            Assert.False(m.ContainsKey(GgufKeys.TokenizerPre));
            Assert.False(m.ContainsKey(GgufKeys.Merges));
            int[] types = Assert.IsType<int[]>(m[GgufKeys.TokenType]);
            Assert.Equal([2, 3, 3, 6, 6], types[..5]);
            Assert.Equal(6, types[258]);
            Assert.All(types[259..], t => Assert.Equal(1, t));
            float[] scores = Assert.IsType<float[]>(m[GgufKeys.Scores]);
            Assert.Equal([0f, -1f, -2f], new[] { scores[262], scores[263], scores[264] }); // ▁a, ab, ▁ab by merge rank
            Assert.True(scores[260] < scores[264]); // "a" is made by no merge
            Assert.Equal(1u, m[GgufKeys.BosTokenId]);
            Assert.Equal(2u, m[GgufKeys.EosTokenId]);
            Assert.Equal(0u, m[GgufKeys.UnknownTokenId]);
            Assert.True(Assert.IsType<bool>(m[GgufKeys.AddBosToken])); // from the TemplateProcessing post-processor
            Assert.True(Assert.IsType<bool>(m[GgufKeys.AddSpacePrefix]));
            Assert.Equal("{% for m in messages %}{{ m['content'] }}{% endfor %}", m[GgufKeys.ChatTemplate]);
            AssertSameEncoding(folder, gguf, "ab a b", "ba  ab", "aé😀b");
        }
    }

    [Fact]
    public void Llama3RegexIsNamedLlamaBpe()
    {
        JsonObject json = TinyHf.TokenizerJson();
        json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = TextSplitter.Llama3Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        };
        using var dir = new TempDirectory();
        (GgufModelSource gguf, string folder) = Convert(new TinyHf { Tokenizer = json }, dir);
        using (gguf)
        {
            Assert.Equal("llama-bpe", gguf.Metadata[GgufKeys.TokenizerPre]);
            AssertSameEncoding(folder, gguf, "abc 123456 ab");
        }
    }

    [Fact]
    public void UnknownSplitRegexIsRefused()
    {
        JsonObject json = TinyHf.TokenizerJson();
        json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = "\\s+" }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        };
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, "hf");
        new TinyHf { Tokenizer = json }.Write(folder);
        var e = Assert.Throws<ModelFormatException>(() => GgufConverter.Convert(folder, dir.File("x.gguf"), GgmlType.F32));
        Assert.Equal(Path.Combine(folder, "tokenizer.json"), e.FilePath);
        Assert.Contains("the split regex \\s+, which llama.cpp knows by no name", e.Message);
        Assert.False(File.Exists(dir.File("x.gguf")));
    }

    [Fact]
    public void MoreTokensThanEmbeddingRowsIsRefused()
    {
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, "hf");
        new TinyHf { Vocab = 20 }.Write(folder); // the tokenizer has 26 ids
        var e = Assert.Throws<ModelFormatException>(() => GgufConverter.Convert(folder, dir.File("x.gguf"), GgmlType.F32));
        Assert.Contains("the tokenizer has 26 tokens (added tokens included) but the model has only 20 embedding rows", e.Message); // the loader's words, as generate says it
    }
}
