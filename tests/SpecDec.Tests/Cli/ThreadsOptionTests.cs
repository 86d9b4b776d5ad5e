using SpecDec.Cli.Commands;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Cli;

/// <summary>`--threads` beyond the processor count is capped with one warning rather than time-slicing the cores.</summary>
public sealed class ThreadsOptionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void TooManyThreadsWarnOnceAndRun()
    {
        string model = Path.Combine(_dir.Path, "model");
        new TinyHf { Layers = 1 }.Write(model);
        var (code, output, error) = CommandInvocation.RunCli(GenerateCommand.Create(),
            ["generate", "--model", model, "--prompt", "ab", "--max-tokens", "2", "--temperature", "0", "--threads", "1000", "--no-warmup"]);
        Assert.Equal(0, code);
        Assert.NotEqual("", output);
        string warning = Assert.Single(error.Split('\n'), l => l.StartsWith("warning:", StringComparison.Ordinal));
        Assert.Contains($"using {Environment.ProcessorCount}", warning);
    }

    [Fact]
    public void PerfCapsThreadsToo()
    {
        // perf takes a GGUF; the missing file is reported after the warning, so no model is needed to see it.
        var (code, _, error) = CommandInvocation.RunCli(PerfCommand.Create(),
            ["perf", "--model", Path.Combine(_dir.Path, "none.gguf"), "--threads", "1000"]);
        Assert.Equal(1, code);
        Assert.Contains("warning: --threads 1000", error);
    }
}
