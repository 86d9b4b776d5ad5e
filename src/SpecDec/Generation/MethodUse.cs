namespace SpecDec.Generation;

/// <summary>
/// What the rounds of one method cost and yielded, for a proposer that chooses its method per round (auto, layer
/// skipping's exit): how often it was chosen, the tokens its rounds produced (accepted drafts plus the correction or
/// bonus) and their time from the start of drafting to the end of the proposer's bookkeeping.
/// </summary>
public record struct MethodUse
{
    public long Rounds { get; set; }
    public long Tokens { get; set; }
    public double Ms { get; set; }

    /// <summary>Tokens per round of this method.</summary>
    public readonly double Tau => Rounds == 0 ? 0 : (double)Tokens / Rounds;

    /// <summary>Milliseconds per token produced by this method's rounds.</summary>
    public readonly double MsPerToken => Tokens == 0 ? 0 : Ms / Tokens;
}
