using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>tokenizer.json, tokenizer_config.json and generation_config.json read into plain data, and bad files named.</summary>
public sealed class TokenizerFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("specdec-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Vocab = """{"a": 0, "b": 1, "ab": 2, "c": 3, "abc": 4}""";

    private string Write(string name, string json)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, json);
        return path;
    }

    private string TokenizerJson(string model, string rest = "") => Write("tokenizer.json",
        "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 5, \"content\": \"<s>\", \"special\": true, \"lstrip\": false, " +
        "\"rstrip\": true, \"normalized\": false}], " + rest + " \"model\": " + model + "}");

    [Fact]
    public void MergesInStringAndPairFormReadAlike()
    {
        var strings = TokenizerJsonFile.Load(TokenizerJson($$"""{"type": "BPE", "vocab": {{Vocab}}, "merges": ["a b", "ab c"]}"""));
        var pairs = TokenizerJsonFile.Load(TokenizerJson($$"""{"type": "BPE", "vocab": {{Vocab}}, "merges": [["a", "b"], ["ab", "c"]]}"""));
        Assert.Equal([("a", "b"), ("ab", "c")], strings.Merges);
        Assert.Equal(strings.Merges, pairs.Merges);
    }

    [Fact]
    public void ReadsVocabAddedTokensAndPipeline()
    {
        var file = TokenizerJsonFile.Load(TokenizerJson(
            $$"""{"type": "BPE", "vocab": {{Vocab}}, "merges": [], "byte_fallback": true, "unk_token": "c", "ignore_merges": true}""",
            """
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": false},
                                                                     {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
            "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                               "special_tokens": {"<s>": {"id": "<s>", "ids": [5], "tokens": ["<s>"]}}},
            "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
            """));
        Assert.Equal("BPE", file.ModelType);
        Assert.Equal(new string?[] { "a", "b", "ab", "c", "abc" }, file.Vocab);
        Assert.True(file.ByteFallback);
        Assert.True(file.IgnoreMerges);
        Assert.Equal("c", file.UnkToken);
        Assert.Equal(new TokenizerAddedToken(5, "<s>", Special: true, RStrip: true), Assert.Single(file.AddedTokens));
        Assert.Equal(6, file.TokenCount);
        Assert.Equal(new string?[] { "a", "b", "ab", "c", "abc", "<s>" }, file.IdToToken());
        Assert.Equal(["Prepend", "Replace"], file.Normalizer!.Steps.Select(s => s.Type));
        Assert.Equal(("▁", " ", false), (file.Normalizer.Steps[0].Content, file.Normalizer.Steps[1].Pattern, file.Normalizer.Steps[1].PatternIsRegex));
        var split = file.PreTokenizer!.Steps[0];
        Assert.Equal(("Split", @"\s+", true, "Isolated"), (split.Type, split.Pattern, split.PatternIsRegex, split.Behavior));
        Assert.False(file.PreTokenizer.Steps[1].UseRegex);
        Assert.Equal(["<s>", "$A"], file.PostProcessor!.SingleTemplate);
        Assert.Equal([5], file.PostProcessor.TemplateSpecialIds["<s>"]);
        Assert.Equal(("Metaspace", "first"), (file.Decoder!.Type, file.Decoder.PrependScheme));
    }

    [Fact]
    public void ReadsTokenizerConfigAndGenerationConfig()
    {
        var config = TokenizerConfigFile.Load(Write("tokenizer_config.json", """
            {"add_bos_token": true, "add_eos_token": false, "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
             "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}],
             "added_tokens_decoder": {"2": {"content": "</s>", "special": true}}}
            """));
        Assert.Equal((true, false, "<s>", "</s>", "D"), (config.AddBosToken, config.AddEosToken, config.BosToken, config.EosToken, config.ChatTemplate));
        Assert.Equal(new TokenizerAddedToken(2, "</s>", Special: true), Assert.Single(config.AddedTokens));

        Assert.Equal([7], GenerationConfigFile.Load(Write("generation_config.json", """{"eos_token_id": 7}""")).EosTokenIds);
        Assert.Equal([7, 9], GenerationConfigFile.Load(Write("generation_config.json", """{"eos_token_id": [7, 9], "bos_token_id": 1}""")).EosTokenIds);
    }

    [Theory]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}", "not valid JSON")]
    [InlineData("{\"model\": {\"type\": \"BPE\"}}", "field 'model.vocab' is missing")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "field 'model.type' is 'WordPiece'")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"zero\"}}}", "field 'model.vocab[\"a\"]' must be a 32-bit integer")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}}}", "gives id 0 to both")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 99999999}}}", "outside")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a a\", \"abc\"]}}", "field 'model.merges[1]' is \"abc\"")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [[\"a\"]]}}", "field 'model.merges[0]'")]
    [InlineData("{\"added_tokens\": [{\"content\": \"x\"}], \"model\": {\"type\": \"BPE\", \"vocab\": {}}}", "field 'added_tokens[0].id' is missing")]
    [InlineData("{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {}}, \"model\": {\"type\": \"BPE\", \"vocab\": {}}}", "field 'pre_tokenizer.pattern'")]
    public void BadTokenizerJsonNamesFileAndField(string json, string problem)
    {
        string path = Write("tokenizer.json", json);
        var e = Assert.Throws<ModelFormatException>(() => TokenizerJsonFile.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [InlineData("\"merges\": [\"a x\"]", "model.merges[0] (\"a x\") uses \"x\"")]
    [InlineData("\"merges\": [], \"pre_tokenizer\": {\"type\": \"Whitespace\"}", "pre_tokenizer Whitespace is not supported")]
    [InlineData("\"merges\": [], \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"WordPiece\"}", "decoder WordPiece")]
    [InlineData("\"merges\": [], \"pre_tokenizer\": {\"type\": \"ByteLevel\"}", "a ByteLevel pre_tokenizer needs a ByteLevel decoder")]
    [InlineData("\"merges\": [], \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?<\"}, \"behavior\": \"Isolated\"}, \"decoder\": {\"type\": \"Metaspace\"}", "regex '(?<' is not supported")]
    public void UnsupportedOrInconsistentTokenizerIsNamed(string modelRest, string problem)
    {
        // Steps sit inside "model" here only to keep the cases short: move them to the root.
        int cut = modelRest.IndexOf(", \"", StringComparison.Ordinal);
        string merges = cut < 0 ? modelRest : modelRest[..cut];
        string root = cut < 0 ? "" : modelRest[(cut + 2)..] + ",";
        string path = Write("tokenizer.json", "{" + root + " \"model\": {\"type\": \"BPE\", \"vocab\": " + Vocab + ", " + merges + "}}");
        var e = Assert.Throws<ModelFormatException>(() => TokenizerFactory.FromTokenizerJson(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void BadConfigBesideTokenizerIsNamed()
    {
        string json = TokenizerJson($$"""{"type": "BPE", "vocab": {{Vocab}}, "merges": []}""", "\"decoder\": {\"type\": \"Metaspace\"},");
        string config = Write("tokenizer_config.json", """{"add_bos_token": "yes"}""");
        var e = Assert.Throws<ModelFormatException>(() => TokenizerFactory.FromTokenizerJson(json));
        Assert.Contains(config, e.Message);
        Assert.Contains("field 'add_bos_token' must be true or false", e.Message);
    }
}
