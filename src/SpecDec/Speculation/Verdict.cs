namespace SpecDec.Speculation;

/// <summary>
/// The verifier's decision on one draft: the first <see cref="Accepted"/> draft tokens stand, followed by
/// <see cref="Token"/> — a correction (sampled where the draft was rejected) or, when every draft token was
/// accepted, a bonus (sampled from the target's distribution after the last draft token).
/// </summary>
public readonly record struct Verdict(int Accepted, int Token, bool IsBonus);
