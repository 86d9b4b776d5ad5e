using SpecDec.Sampling;

namespace SpecDec.Tools.Benchmarking;

/// <summary>How every request of a benchmark run decodes, and how often it is timed.</summary>
public sealed record BenchSettings
{
    /// <summary>Most new tokens per turn (fewer when the prompt leaves less room in the context).</summary>
    public int MaxTokens { get; init; } = 128;

    /// <summary>0 is greedy (and enables the lossless check); above 0, plain temperature sampling (no top-k/p, min-p).</summary>
    public float Temperature { get; init; }

    /// <summary>Timed runs over every item and method, after one warm-up pass.</summary>
    public int Runs { get; init; } = 1;

    /// <summary>Seed of the sampling streams; each item and turn derives its own from it, the same for every method.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Run every method once on the first item's first turn before timing (JIT, page cache, buffers).</summary>
    public bool WarmUp { get; init; } = true;

    /// <summary>Throws a <see cref="SpecDecException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (MaxTokens < 1) throw new SpecDecException($"--max-tokens must be ≥ 1 (got {MaxTokens})");
        if (Runs < 1) throw new SpecDecException($"--runs must be ≥ 1 (got {Runs})");
        Sampling(0).Validate();
    }

    /// <summary>The sampling of one request; <paramref name="streamSeed"/> is mixed into <see cref="Seed"/>.</summary>
    public SamplingOptions Sampling(ulong streamSeed) => Temperature == 0
        ? SamplingOptions.Greedy
        : new SamplingOptions { Temperature = Temperature, TopK = 0, TopP = 1, MinP = 0, Seed = Seed ^ streamSeed };
}
