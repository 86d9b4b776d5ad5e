using SpecDec.Cli.Commands;
using SpecDec.Tests.Formats;
using SpecDec.Tests.Tokenization;

namespace SpecDec.Tests.Cli;

/// <summary>`specdec tokenize` on vocabulary-only GGUF files (llama.cpp's test vocabularies, cut down) and a HF folder.</summary>
public sealed class TokenizeCommandTests
{
    private static string Vocab(string name) => Path.Combine(LlamaCppVocab.FixtureDir, name + ".gguf");

    private static (int Code, string Out, string Err) Tokenize(params string[] args) =>
        CommandInvocation.RunCli(TokenizeCommand.Create(), ["tokenize", .. args]);

    [Fact]
    public void IdsLineMatchesLlamaCppForAVocabularyOnlyGguf()
    {
        var (_, cases) = LlamaCppVocab.LoadFixture("deepseek-coder");
        var c = cases.First(c => c.Text.Contains("3333"));
        var (code, output, err) = Tokenize("--model", Vocab("deepseek-coder"), "--prompt", c.Text, "--ids", "--no-bos", "--no-parse-special");
        Assert.Equal((0, ""), (code, err));
        Assert.Equal(string.Join(' ', c.Ids) + Environment.NewLine, output);
    }

    [Fact]
    public void GemmaAddsBosAndParsesControlTokensUnlessTold()
    {
        string gemma = Vocab("gemma-4");
        var (_, withBos, _) = Tokenize("--model", gemma, "--prompt", "Hello world", "--ids");
        var (_, without, _) = Tokenize("--model", gemma, "--prompt", "Hello world", "--ids", "--no-bos");
        Assert.Equal(without.Trim(), withBos.Trim()[(withBos.IndexOf(' ') + 1)..]);

        using var dir = new TempDirectory();
        string file = dir.Write("p.txt", "Hello world"u8.ToArray());
        var (code, listing, _) = Tokenize("-m", gemma, "-f", file, "--no-bos");
        Assert.Equal(0, code);
        string[] lines = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(without.Trim().Split(' ').Length, lines.Length);
        Assert.EndsWith("-> 'Hello'", lines[0]);
        Assert.EndsWith("-> ' world'", lines[1]);
    }

    [Fact]
    public void ControlTokenTextIsOneTokenOnlyWithParseSpecial()
    {
        string gguf = Vocab("llama-bpe");
        var (_, parsed, _) = Tokenize("-m", gguf, "-p", "<|begin_of_text|>", "--ids", "--no-bos");
        var (_, plain, _) = Tokenize("-m", gguf, "-p", "<|begin_of_text|>", "--ids", "--no-bos", "--no-parse-special");
        Assert.Single(parsed.Trim().Split(' '));
        Assert.True(plain.Trim().Split(' ').Length > 1);
    }

    [Theory]
    [InlineData(new[] { "--model", "/no/such/vocab.gguf", "--prompt", "x" }, "--model /no/such/vocab.gguf: no such file or folder")]
    [InlineData(new[] { "--model", "VOCAB" }, "give exactly one of --prompt and --prompt-file")]
    [InlineData(new[] { "--model", "VOCAB", "--prompt-file", "/no/such/prompt.txt" }, "--prompt-file /no/such/prompt.txt: no such file")]
    public void MistakesAreOneErrorLine(string[] args, string message)
    {
        var (code, output, err) = Tokenize([.. args.Select(a => a == "VOCAB" ? Vocab("gpt-2") : a)]);
        Assert.Equal((1, ""), (code, output));
        Assert.StartsWith("error: ", err);
        Assert.Contains(message, err);
    }
}
