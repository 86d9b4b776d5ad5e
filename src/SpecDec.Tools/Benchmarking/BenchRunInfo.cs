namespace SpecDec.Tools.Benchmarking;

/// <summary>What a benchmark run was asked to do, recorded in its summary so the run can be repeated.</summary>
public sealed record BenchRunInfo
{
    /// <summary>The exact command line.</summary>
    public required string CommandLine { get; init; }

    /// <summary>When the run started, ISO 8601 UTC.</summary>
    public required string StartedUtc { get; init; }

    public required string TaskDirectory { get; init; }
    public required int Threads { get; init; }

    /// <summary>The KV cache's element type, f32 or f16 (summaries from before the option read as f32).</summary>
    public string CacheType { get; init; } = "f32";

    /// <summary>Where the models ran: "cpu", or the GPU as the CUDA backend names it (summaries from before the option read as cpu).</summary>
    public string Device { get; init; } = "cpu";
    public required int MaxTokens { get; init; }
    public required float Temperature { get; init; }
    public required int Runs { get; init; }
    public required ulong Seed { get; init; }

    /// <summary>Items per category; null ran every item.</summary>
    public required int? Limit { get; init; }

    public required int Items { get; init; }
}
