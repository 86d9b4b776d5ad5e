using System.Numerics.Tensors;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// The single place that decides which draft tokens stand. The target's distribution p at each position is
/// computed here, by the same <see cref="Sampler"/> plain decoding uses, so the committed tokens follow
/// exactly the distribution plain decoding would have produced.
/// <para>
/// Greedy (temperature 0): accept while the draft token equals the target's argmax; the first mismatch is
/// replaced by the argmax (correction); a fully accepted draft earns the argmax after it (bonus).
/// Example: drafts [5, 7, 9], target argmaxes [5, 7, 2, 4] → accept 5, 7; correction 2 (9 is dropped).
/// Drafts [5, 7], argmaxes [5, 7, 4] → accept both; bonus 4. Three tokens from one target forward.
/// </para>
/// <para>
/// Speculative sampling (Leviathan et al. 2023; Chen et al. 2023), drafts drawn from q: accept x with
/// probability min(1, p(x) / q(x)); on rejection draw the correction from norm(max(0, p − q)); after a full
/// accept draw the bonus from the next p. Example, vocabulary of 3, drafts [2, 0]:
/// q₀ = [0.1, 0.2, 0.7], p₀ = [0.2, 0.45, 0.35]: x₀ = 2 is accepted with 0.35 / 0.7 = 0.5; say u = 0.3, so
/// it stands. q₁ = [0.6, 0.3, 0.1], p₁ = [0.3, 0.3, 0.4]: x₁ = 0 is accepted with 0.3 / 0.6 = 0.5; say
/// u = 0.8, so it is rejected; max(0, p₁ − q₁) = [0, 0, 0.3] normalises to [0, 0, 1]: correction 2.
/// Result: Accepted 1, Token 2. Had both stood, the bonus would come from p₂.
/// </para>
/// <para>
/// Point-mass drafts (prompt lookup and other proposers without q): q = δₓ, so the same rule reads: accept
/// with probability p(x); on rejection draw from p with x removed and renormalised. Example: p = [0.5, 0.3,
/// 0.2], x = 1: accepted with 0.3; if rejected the correction is 0 or 2 with probabilities 5/7 and 2/7.
/// A draft token that top-k/top-p/min-p removed has p(x) = 0 and is always rejected.
/// </para>
/// </summary>
internal class Verifier
{
    private readonly Sampler _sampler;
    private readonly float[] _p;        // [V] target distribution at the position being verified
    private readonly float[] _residual; // [V] distribution the correction is drawn from

    public Verifier(Sampler targetSampler)
    {
        _sampler = targetSampler;
        _p = new float[targetSampler.VocabSize];
        _residual = new float[targetSampler.VocabSize];
    }

    /// <param name="targetLogits">[(drafted + 1) × V]: row i holds the target's logits for the token at
    /// index committed + i of <paramref name="sequence"/>.</param>
    /// <param name="sequence">The committed tokens followed by the <paramref name="drafted"/> draft tokens.</param>
    /// <param name="q">[drafted × V] draft distributions when <paramref name="hasDistributions"/>, else ignored.</param>
    public Verdict Verify(ReadOnlySpan<float> targetLogits, ReadOnlySpan<int> sequence, int committed, int drafted,
        bool hasDistributions, ReadOnlySpan<float> q, Xoshiro256StarStar rng)
    {
        int v = _sampler.VocabSize;
        bool greedy = _sampler.Options.IsGreedy;
        for (int i = 0; ; i++)
        {
            int best = _sampler.Distribution(targetLogits.Slice(i * v, v), sequence[..(committed + i)], _p);
            if (i == drafted)
                return new Verdict(drafted, greedy ? best : Sampler.Sample(_p, rng), IsBonus: true);

            int x = sequence[committed + i];
            if (greedy)
            {
                if (x == best) continue;
                return new Verdict(i, best, IsBonus: false);
            }

            ReadOnlySpan<float> qRow = hasDistributions ? q.Slice(i * v, v) : default;
            float px = (uint)x < (uint)v ? _p[x] : 0f;
            float qx = hasDistributions ? qRow[x] : 1f;
            // u < p(x) / q(x), written without the division so that q(x) = 0 cannot produce NaN.
            if (rng.NextDouble() * qx < px) continue;

            BuildResidual(_p, qRow, x, _residual);
            // A residual with no mass only arises from rounding when p ≈ q; p itself is then the right law.
            bool empty = TensorPrimitives.Sum(_residual) <= 0f;
            return new Verdict(i, Sampler.Sample(empty ? _p : _residual, rng), IsBonus: false);
        }
    }

    /// <summary>
    /// norm-less max(0, p − q) for a draft with distributions (<paramref name="q"/> non-empty), or p without
    /// the draft token <paramref name="x"/> for a point mass; <see cref="Sampler.Sample"/> normalises.
    /// Virtual only so tests can show that a wrong residual breaks the lossless-sampling test.
    /// </summary>
    protected virtual void BuildResidual(ReadOnlySpan<float> p, ReadOnlySpan<float> q, int x, Span<float> residual)
    {
        if (q.IsEmpty)
        {
            p.CopyTo(residual);
            if ((uint)x < (uint)residual.Length) residual[x] = 0f;
            return;
        }
        TensorPrimitives.Subtract(p, q, residual);
        TensorPrimitives.Max(residual, 0f, residual);
    }
}
