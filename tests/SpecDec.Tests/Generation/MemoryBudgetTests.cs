using SpecDec.Backends.Cpu;
using SpecDec.Cli.Commands;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Generation;

/// <summary>
/// A request whose KV caches could outgrow the memory is refused before anything is allocated, with one error
/// naming what it needs: a model with a 2³¹-token context asked for 2·10⁹ tokens died of "Out of memory".
/// </summary>
public sealed class MemoryBudgetTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _model;

    public MemoryBudgetTests()
    {
        _model = Path.Combine(_dir.Path, "model");
        new TinyHf { Layers = 2, EditConfig = c => c["max_position_embeddings"] = int.MaxValue }.Write(_model);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_request_fits_its_budget_to_the_byte()
    {
        using var model = Transformer.Load(ModelSource.Open(_model), threads: 1);
        var generator = new Generator(model);
        int[] prompt = model.Tokenizer.Encode("abc", addSpecial: true, parseSpecial: true);
        const int maxTokens = 300;
        long needed = model.CacheBytes(prompt.Length + maxTokens) + (prompt.Length + maxTokens) * sizeof(int);
        var options = new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, MaxMemoryBytes = needed };
        Assert.NotEmpty(generator.Generate(prompt, options).Tokens); // runs (it may stop before max tokens)

        var error = Assert.Throws<SpecDecException>(() => generator.Generate(prompt, options with { MaxMemoryBytes = needed - 1 }));
        Assert.Contains("--max-memory", error.Message);
        Assert.Contains($"up to {prompt.Length + maxTokens} tokens", error.Message);
    }

    [Fact]
    public void The_cache_bytes_are_those_of_a_cache_grown_that_far()
    {
        using var model = Transformer.Load(ModelSource.Open(_model), threads: 1);
        var cache = (KvCache)model.CreateCache(100_000);
        cache.Reserve(1000);
        Assert.Equal(model.CacheBytes(cache.Allocated), cache.AllocatedBytes);
    }

    [Fact]
    public void A_request_past_what_the_machine_has_is_one_error_line()
    {
        var (code, output, error) = CommandInvocation.RunCli(GenerateCommand.Create(),
            ["generate", "--model", _model, "--prompt", "abc", "--max-tokens", "2000000000", "--threads", "1", "--no-warmup"]);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: a request of up to 2000000", error);
        Assert.Contains("this machine has left", error);
    }

    [Theory]
    [InlineData("64K", "--max-memory")]
    [InlineData("lots", "--max-memory must be a positive size")]
    [InlineData("0", "--max-memory must be a positive size")]
    public void Max_memory_is_a_size_and_a_limit(string value, string message)
    {
        var (code, output, error) = CommandInvocation.RunCli(GenerateCommand.Create(),
            ["generate", "--model", _model, "--prompt", "abc", "--max-tokens", "500", "--max-memory", value, "--threads", "1", "--no-warmup"]);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains(message, error);
    }

    [Fact]
    public void Sizes_read_as_powers_of_1024()
    {
        Assert.Equal(512L << 20, MaxMemoryOption.Parse("512M"));
        Assert.Equal(3L << 29, MaxMemoryOption.Parse("1.5g"));
        Assert.Equal(1000, MaxMemoryOption.Parse("1000"));
        Assert.Null(MaxMemoryOption.Parse("-1G"));
    }
}
