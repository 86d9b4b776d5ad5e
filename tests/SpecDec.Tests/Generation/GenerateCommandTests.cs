using SpecDec.Backends.Cpu;
using SpecDec.Cli.Commands;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Generation;

/// <summary>`specdec generate` on a small Hugging Face folder: stdout carries exactly the continuation.</summary>
public sealed class GenerateCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _model;

    public GenerateCommandTests()
    {
        _model = Path.Combine(_dir.Path, "model");
        new TinyHf { Layers = 2 }.Write(_model);
    }

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Out, string Err) Run(params string[] args) => CommandInvocation.Run(GenerateCommand.Create(), args);

    private string Expected(string prompt, int maxTokens, KvCacheType cache = KvCacheType.F32)
    {
        using var model = Transformer.Load(ModelSource.Open(_model), threads: 1);
        model.CacheType = cache;
        return new Generator(model).Generate(prompt, new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy }).Text;
    }

    [Fact]
    public void StreamsTheGreedyContinuationToStdoutAndOneStatsLineToStderr()
    {
        string expected = Expected("abcabcab", 20);
        foreach (string spec in new[] { "none", "pld" })
        {
            var (code, output, error) = Run("generate", "--model", _model, "--prompt", "abcabcab", "--max-tokens", "20",
                "--temperature", "0", "--threads", "1", "--spec", spec, "--ngram-min", "1");
            Assert.Equal(0, code);
            Assert.Equal(expected, output);
            string line = error.Trim();
            Assert.DoesNotContain('\n', line);
            Assert.Matches(@"^prompt \d+ tok, generated \d+ tok, prefill [\d.]+ tok/s, decode [\d.]+ tok/s", line);
            if (spec == "pld") Assert.Matches(@", α [\d.]+, τ [\d.]+, drafted \d+, accepted \d+$", line);
        }
    }

    [Fact]
    public void StatsPrintsTheFullTableWithPerPositionAcceptance()
    {
        var (code, _, error) = Run("generate", "--model", _model, "--prompt", "abcabcabcabc", "--max-tokens", "24",
            "--temperature", "0", "--spec", "draft", "--draft-model", _model, "--draft-max", "3", "--draft-min", "3", "--draft-p-min", "0", "--stats");
        Assert.Equal(0, code);
        Assert.Contains("α (accepted/drafted)  1.000", error); // the draft is the target itself
        Assert.Contains("acceptance at 3       1.000", error);
        Assert.Contains("τ (tokens/forward)", error);
    }

    [Fact]
    public void A_draft_length_below_prompt_lookups_default_of_4_is_accepted()
    {
        var (code, output, _) = Run("generate", "--model", _model, "--prompt", "abcabcab", "--max-tokens", "8",
            "--temperature", "0", "--spec", "pld", "--ngram-min", "1", "--draft-max", "2");
        Assert.Equal(0, code);
        Assert.Equal(Expected("abcabcab", 8), output);
    }

    [Fact]
    public void An_f16_cache_runs_every_method_losslessly_against_plain_decoding_on_the_same_cache()
    {
        string expected = Expected("abcabcab", 20, KvCacheType.F16);
        foreach (string[] spec in new[]
                 {
                     ["--spec", "none"], ["--spec", "pld", "--ngram-min", "1"], ["--spec", "pld", "--ngram-min", "1", "--draft-tree", "--tree-nodes", "12"],
                     ["--spec", "lookahead", "--lookahead-window", "3", "--lookahead-ngram", "3", "--lookahead-guesses", "2"],
                     ["--spec", "layerskip", "--exit-layer", "1"], ["--spec", "auto"],
                     new[] { "--spec", "draft", "--draft-model", _model },
                 })
        {
            var (code, output, _) = Run(["generate", "--model", _model, "--prompt", "abcabcab", "--max-tokens", "20",
                "--temperature", "0", "--threads", "1", "--cache-type", "f16", .. spec]);
            Assert.Equal(0, code);
            Assert.Equal(expected, output);
        }
        var (bad, _, error) = Run("generate", "--model", _model, "--prompt", "ab", "--cache-type", "q4_0");
        Assert.NotEqual(0, bad);
        Assert.Contains("--cache-type", error);
    }

    [Fact]
    public void ReadsThePromptFromAFile()
    {
        string file = _dir.File("prompt.txt");
        File.WriteAllText(file, "abcabcab");
        var (code, output, _) = Run("generate", "--model", _model, "--prompt-file", file, "--max-tokens", "8", "--temperature", "0");
        Assert.Equal(0, code);
        Assert.Equal(Expected("abcabcab", 8), output);
    }

    [Fact]
    public void UserMistakesAreSpecDecExceptionsThatNameTheProblem()
    {
        Assert.Contains("--prompt", Assert.Throws<SpecDecException>(() => Run("generate", "--model", _model)).Message);
        Assert.Contains("draft-max", Assert.Throws<SpecDecException>(() =>
            Run("generate", "--model", _model, "--prompt", "ab", "--spec", "pld", "--draft-max", "99")).Message);
        Assert.Contains("draft-min", Assert.Throws<SpecDecException>(() =>
            Run("generate", "--model", _model, "--prompt", "ab", "--spec", "pld", "--draft-max", "3", "--draft-min", "5")).Message);
        Assert.Contains("top-p", Assert.Throws<SpecDecException>(() => Run("generate", "--model", _model, "--prompt", "ab", "--top-p", "2")).Message);
        Assert.Contains("tree-nodes", Assert.Throws<SpecDecException>(() =>
            Run("generate", "--model", _model, "--prompt", "ab", "--spec", "pld", "--draft-tree", "--tree-nodes", "64")).Message);
        Assert.Contains("--exit-layer", Assert.Throws<SpecDecException>(() =>
            Run("generate", "--model", _model, "--prompt", "ab", "--spec", "layerskip", "--exit-layer", "2")).Message);
        Assert.Contains("lookahead-window", Assert.Throws<SpecDecException>(() =>
            Run("generate", "--model", _model, "--prompt", "ab", "--spec", "lookahead", "--lookahead-window", "0")).Message);
        Assert.Contains("draft-context", Assert.Throws<SpecDecException>(() =>
            Run("generate", "--model", _model, "--prompt", "ab", "--spec", "draft", "--draft-model", _model, "--draft-context", "-1")).Message);
    }
}
