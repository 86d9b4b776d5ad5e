using System.CommandLine;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `--threads N`, shared by the commands that run models. More threads than processors only time-slice the
/// cores (1000 threads on 2 cores decoded 34× slower), so a larger count is capped with a warning.
/// </summary>
internal static class ThreadsOption
{
    public static Option<int> Create() =>
        new("--threads") { Description = "worker threads; 0 is one per processor, more than the processors are capped", DefaultValueFactory = _ => 0 };

    /// <summary>The thread count to run with: 0 (one per processor) or at most <see cref="Environment.ProcessorCount"/>.</summary>
    public static int Resolve(ParseResult parse, Option<int> option)
    {
        int threads = parse.GetValue(option);
        if (threads < 0) throw new SpecDecException($"--threads must be ≥ 0 (got {threads})");
        if (threads <= Environment.ProcessorCount) return threads;
        parse.InvocationConfiguration.Error.WriteLine(
            $"warning: --threads {threads} is more than the {Environment.ProcessorCount} processors; using {Environment.ProcessorCount}");
        return Environment.ProcessorCount;
    }
}
