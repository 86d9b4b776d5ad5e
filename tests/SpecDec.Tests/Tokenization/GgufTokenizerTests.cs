using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>Tokenizers from GGUF `tokenizer.ggml.*` metadata: what the keys select, and bad metadata named by key.</summary>
public sealed class GgufTokenizerTests
{
    private const string Source = "model.gguf";

    /// <summary>A byte-level vocabulary: the 256 byte chars, "Ġ" + "h" merged, and a control token.</summary>
    private static Dictionary<string, object> ByteLevel()
    {
        string[] tokens = [.. Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ByteToChar[b].ToString()), "Ġh", "<|eot_id|>"];
        var types = Enumerable.Repeat(1, tokens.Length).ToArray();
        types[^1] = 3;
        return new()
        {
            ["tokenizer.ggml.model"] = "gpt2",
            ["tokenizer.ggml.pre"] = "llama-bpe",
            ["tokenizer.ggml.tokens"] = tokens,
            ["tokenizer.ggml.token_type"] = types,
            ["tokenizer.ggml.merges"] = new[] { "Ġ h" },
            ["tokenizer.ggml.bos_token_id"] = 257u,
            ["tokenizer.ggml.eos_token_id"] = 257u,
        };
    }

    [Fact]
    public void ByteLevelKeysSelectTheirMeaning()
    {
        var tok = TokenizerFactory.FromGgufMetadata(ByteLevel(), Source);
        Assert.Equal("llama3-bpe", tok.Kind);
        Assert.True(tok.AddBos); // llama.cpp's default for the llama-bpe pre-tokenizer
        Assert.Equal([257, 'a', 256, 'i', 257], tok.Encode("a hi<|eot_id|>"));
        Assert.Equal("a hi", tok.Decode(tok.Encode("a hi<|eot_id|>"), skipSpecial: true));
        Assert.Contains(257, tok.StopIds);

        var md = ByteLevel();
        md["tokenizer.ggml.add_bos_token"] = false;
        md["tokenizer.ggml.pre"] = "qwen2";
        tok = TokenizerFactory.FromGgufMetadata(md, Source);
        Assert.Equal(("qwen2-bpe", false), (tok.Kind, tok.AddBos));
        Assert.Equal(['1', '2'], tok.Encode("12"));
    }

    [Theory]
    [InlineData("tokenizer.ggml.model", null, "metadata key 'tokenizer.ggml.model' is missing")]
    [InlineData("tokenizer.ggml.model", "bert", "metadata key 'tokenizer.ggml.model' is 'bert'")]
    [InlineData("tokenizer.ggml.tokens", null, "metadata key 'tokenizer.ggml.tokens' is missing")]
    [InlineData("tokenizer.ggml.merges", null, "metadata key 'tokenizer.ggml.merges' is missing")]
    [InlineData("tokenizer.ggml.pre", "tekken", "metadata key 'tokenizer.ggml.pre' is 'tekken'")]
    [InlineData("tokenizer.ggml.pre", 3, "metadata key 'tokenizer.ggml.pre' must be a string")]
    [InlineData("tokenizer.ggml.bos_token_id", 9999u, "metadata key 'tokenizer.ggml.bos_token_id' is 9999")]
    [InlineData("tokenizer.ggml.token_type", new[] { 1, 2 }, "metadata key 'tokenizer.ggml.token_type' has 2 entries for 258 tokens")]
    [InlineData("tokenizer.ggml.merges", new[] { "Ġ" }, "metadata key 'tokenizer.ggml.merges[0]' is \"Ġ\"")]
    [InlineData("tokenizer.ggml.merges", new[] { "Ġ zz" }, "tokenizer.ggml.merges[0] (\"Ġ zz\") uses \"zz\"")]
    public void BadByteLevelMetadataIsNamed(string key, object? value, string problem)
    {
        var md = ByteLevel();
        if (value is null) md.Remove(key); else md[key] = value;
        var e = Assert.Throws<ModelFormatException>(() => TokenizerFactory.FromGgufMetadata(md, Source));
        Assert.Equal(Source, e.FilePath);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void SentencePieceNeedsScoresForEveryToken()
    {
        var md = new Dictionary<string, object>
        {
            ["tokenizer.ggml.model"] = "llama",
            ["tokenizer.ggml.tokens"] = new[] { "<unk>", "▁", "a" },
        };
        var e = Assert.Throws<ModelFormatException>(() => TokenizerFactory.FromGgufMetadata(md, Source));
        Assert.Contains("metadata key 'tokenizer.ggml.scores' is missing", e.Message);
        md["tokenizer.ggml.scores"] = new[] { 0f, -1f };
        e = Assert.Throws<ModelFormatException>(() => TokenizerFactory.FromGgufMetadata(md, Source));
        Assert.Contains("metadata key 'tokenizer.ggml.scores' has 2 entries for 3 tokens", e.Message);
        md["tokenizer.ggml.scores"] = new[] { 0f, -1f, -2f };
        e = Assert.Throws<ModelFormatException>(() => TokenizerFactory.FromGgufMetadata(md, Source));
        Assert.Contains("metadata key 'tokenizer.ggml.bos_token_id' is missing but add_bos_token is on", e.Message);
    }
}
