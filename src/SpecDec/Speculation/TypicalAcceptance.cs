using System.Numerics;

namespace SpecDec.Speculation;

/// <summary>
/// Medusa's typical acceptance (Cai et al. 2024, §2.3.1), an opt-in that is NOT lossless: when sampling, a draft
/// token stands if the target gives it more than min(ε, α · exp(−H(p))) probability, H(p) being the entropy of the
/// target's distribution at that node, instead of passing the speculative-sampling test. More tokens stand per
/// round, but the output no longer follows the target's law (the χ² test in <c>HeadGenerationTests</c> shows it).
/// Greedy decoding ignores it: its argmax walk is already what typical acceptance reduces to at temperature 0.
/// Medusa's defaults: ε = 0.09 (its posterior_threshold), α = 0.3 (its posterior_alpha).
/// </summary>
/// <param name="Epsilon">The hard threshold ε; 0 turns typical acceptance off.</param>
/// <param name="Alpha">The entropy-dependent threshold's scale α.</param>
public readonly record struct TypicalAcceptance(float Epsilon, float Alpha)
{
    /// <summary>Medusa's published thresholds.</summary>
    public static TypicalAcceptance Medusa { get; } = new(0.09f, 0.3f);

    /// <summary>Whether the verifier walks by this rule (sampling only) instead of the lossless one.</summary>
    public bool IsOn => Epsilon > 0;

    /// <summary>
    /// The probability a child's token needs in <paramref name="p"/> [V] to stand: min(ε, α · exp(−H(p))).
    /// Example: p = [0.5, 0.5] has H = ln 2, so the cut is min(0.09, 0.3 · 0.5) = 0.09.
    /// </summary>
    public T Cutoff<T>(ReadOnlySpan<T> p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T entropy = T.Zero;
        foreach (T pi in p)
            if (pi > T.Zero) entropy -= pi * T.Log(pi);
        return T.Min(T.CreateChecked(Epsilon), T.CreateChecked(Alpha) * T.Exp(-entropy));
    }
}
