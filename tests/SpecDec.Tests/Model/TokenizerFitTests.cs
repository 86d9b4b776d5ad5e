using System.Text.Json.Nodes;
using SpecDec.Cli.Commands;
using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Model;

/// <summary>A tokenizer that can produce an id past the model's embedding rows is refused when the two meet, naming the file.</summary>
public sealed class TokenizerFitTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string ModelWithAddedToken(int id)
    {
        JsonObject tokenizer = TinyHf.TokenizerJson();
        tokenizer["added_tokens"]!.AsArray().Add(new JsonObject
        {
            ["id"] = id, ["content"] = "<extra>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
            ["normalized"] = false, ["special"] = false,
        });
        tokenizer["model"]!["vocab"]!["<extra>"] = id;
        string folder = _dir.File("model");
        new TinyHf { Tokenizer = tokenizer }.Write(folder);
        return folder;
    }

    [Fact]
    public void AnAddedTokenPastTheEmbeddingRowsIsRefused()
    {
        string folder = ModelWithAddedToken(1500); // TinyHf has 40 rows
        using var source = ModelSource.Open(folder);
        var e = Assert.Throws<ModelFormatException>(() => source.Tokenizer);
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("1501 tokens", e.Message);
        Assert.Contains("40 embedding rows", e.Message);
    }

    [Fact]
    public void AGgufWithMoreTokensThanRowsIsRefused()
    {
        string path = _dir.File("model.gguf");
        new TinyGguf
        {
            EditMetadata = m =>
            {
                m[GgufKeys.TokenizerModel] = "gpt2";
                m[GgufKeys.Tokens] = Enumerable.Range(0, 41).Select(i => $"t{i}").ToArray(); // TinyGguf has 40 rows
                m[GgufKeys.Merges] = Array.Empty<string>();
            },
        }.Write(path);
        using var source = ModelSource.Open(path);
        var e = Assert.Throws<ModelFormatException>(() => source.Tokenizer);
        Assert.Contains(path, e.Message);
        Assert.Contains("41 tokens", e.Message);
    }

    [Fact]
    public void GenerateSaysSoInOneErrorLine()
    {
        string folder = ModelWithAddedToken(1500);
        var (code, output, error) = CommandInvocation.RunCli(GenerateCommand.Create(),
            ["generate", "--model", folder, "--prompt", "ab <extra>", "--max-tokens", "2", "--threads", "1", "--no-warmup"]);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: ", error);
        Assert.Contains("embedding rows", error);
    }

    [Fact]
    public void ATokenizerSmallerThanTheRowsIsFine()
    {
        using var source = ModelSource.Open(ModelWithAddedToken(39));
        Assert.Equal(40, source.Tokenizer.VocabSize);
    }
}
