using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Generation;

/// <summary>One request: how much to generate, how to sample, when to stop, and how to speculate.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most new tokens; null generates until a stop or the end of the model's context.</summary>
    public int? MaxTokens { get; init; } = 256;

    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>Generation ends when the output contains one of these; the text stops just before it.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Speculation changes the speed, never the output distribution.</summary>
    public SpeculationOptions Speculation { get; init; } = SpeculationOptions.None;

    /// <summary>
    /// Most bytes the request's KV caches (target and draft model) may grow to; null: the memory this machine
    /// (or container) has left. A request whose prompt + max tokens would need more is refused before it starts.
    /// </summary>
    public long? MaxMemoryBytes { get; init; }

    /// <summary>Let the tokenizer add BOS (and whatever its files add) to a text prompt.</summary>
    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>Throws a <see cref="SpecDecException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (MaxTokens is < 1) throw new SpecDecException($"max tokens must be ≥ 1 (got {MaxTokens})");
        if (MaxMemoryBytes is < 1) throw new SpecDecException($"max memory must be ≥ 1 byte (got {MaxMemoryBytes})");
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new SpecDecException("stop strings must not be empty");
        Sampling.Validate();
        Speculation.Validate();
    }
}
