namespace SpecDec.Sampling;

/// <summary>
/// How logits become the distribution a token is drawn from. Defaults follow llama.cpp's CLI. The
/// pipeline (see <see cref="Sampler"/>) is: repetition penalty → temperature → top-k → top-p → min-p.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Divides the logits; 0 means greedy (always the most likely token, ties to the lowest id).</summary>
    public float Temperature { get; init; } = 0.8f;

    /// <summary>Keep only the K most likely tokens; 0 turns it off.</summary>
    public int TopK { get; init; } = 40;

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches P; 1 turns it off.</summary>
    public float TopP { get; init; } = 0.95f;

    /// <summary>Drop tokens whose probability is below MinP × the top token's; 0 turns it off.</summary>
    public float MinP { get; init; } = 0.05f;

    /// <summary>CTRL-style penalty on tokens seen in the last <see cref="RepetitionWindow"/> tokens; 1 turns it off.</summary>
    public float RepetitionPenalty { get; init; } = 1.0f;

    /// <summary>How many of the most recent context tokens (prompt included) the penalty looks at.</summary>
    public int RepetitionWindow { get; init; } = 64;

    /// <summary>Seed of the random stream; null draws a fresh one per request.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Greedy decoding with no penalty.</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0 };

    public bool IsGreedy => Temperature == 0;

    /// <summary>Throws a <see cref="SpecDecException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || float.IsInfinity(Temperature))
            throw new SpecDecException($"temperature must be a finite number ≥ 0 (got {Temperature})");
        if (TopK < 0) throw new SpecDecException($"top-k must be ≥ 0 (got {TopK})");
        if (!(TopP > 0 && TopP <= 1)) throw new SpecDecException($"top-p must be in (0, 1] (got {TopP})");
        if (!(MinP >= 0 && MinP <= 1)) throw new SpecDecException($"min-p must be in [0, 1] (got {MinP})");
        if (!(RepetitionPenalty > 0) || float.IsInfinity(RepetitionPenalty))
            throw new SpecDecException($"repetition penalty must be a finite number > 0 (got {RepetitionPenalty})");
        if (RepetitionWindow < 0) throw new SpecDecException($"repetition window must be ≥ 0 (got {RepetitionWindow})");
    }
}
