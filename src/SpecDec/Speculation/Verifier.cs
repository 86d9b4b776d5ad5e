using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// The single place that decides which draft tokens stand, for chains and trees alike (the walk is
/// <see cref="TreeAcceptance{T}"/>). The target's distribution p at each node is computed here, by the same
/// <see cref="Sampler"/> plain decoding uses, so the committed tokens follow exactly the distribution plain
/// decoding would have produced.
/// <para>
/// Greedy (temperature 0): descend while some child's token is the target's argmax; where none is, the argmax
/// is the correction; at a leaf it is the bonus. Example: chain drafts [5, 7, 9], target argmaxes [5, 7, 2, 4]
/// → accept 5, 7; correction 2 (9 is dropped). Drafts [5, 7], argmaxes [5, 7, 4] → accept both; bonus 4.
/// A tree with root children 5 and 6 and argmax 6 at the root descends into 6.
/// </para>
/// <para>
/// Speculative sampling (Leviathan et al. 2023; Chen et al. 2023), a chain drawn from q: accept x with
/// probability min(1, p(x) / q(x)); on rejection draw the correction from norm(max(0, p − q)); after a full
/// accept draw the bonus from the next p. Example, vocabulary of 3, drafts [2, 0]:
/// q₀ = [0.1, 0.2, 0.7], p₀ = [0.2, 0.45, 0.35]: x₀ = 2 is accepted with 0.35 / 0.7 = 0.5; say u = 0.3, so
/// it stands. q₁ = [0.6, 0.3, 0.1], p₁ = [0.3, 0.3, 0.4]: x₁ = 0 is accepted with 0.3 / 0.6 = 0.5; say
/// u = 0.8, so it is rejected; max(0, p₁ − q₁) = [0, 0, 0.3] normalises to [0, 0, 1]: correction 2.
/// Result: Accepted 1, Token 2. Had both stood, the bonus would come from p₂.
/// </para>
/// <para>
/// Point-mass drafts (prompt lookup and other deterministic candidates): q = δₓ, so the same rule reads: accept
/// with probability p(x); on rejection remove x from p, renormalise and try the next sibling; when none is
/// left, draw from what remains. Example: p = [0.5, 0.3, 0.2], one child x = 1: accepted with 0.3; if rejected
/// the correction is 0 or 2 with probabilities 5/7 and 2/7. A draft token that top-k/top-p/min-p removed has
/// p(x) = 0 and is always rejected.
/// </para>
/// </summary>
internal class Verifier
{
    private readonly Sampler _sampler;
    private readonly TreeAcceptance<float> _acceptance;
    private readonly TypicalAcceptance _typical;

    /// <param name="typical">Medusa's typical acceptance when sampling: opt-in and lossy; default off.</param>
    /// <param name="acceptance">The walk; tests pass a deliberately broken one.</param>
    public Verifier(Sampler targetSampler, TypicalAcceptance typical = default, TreeAcceptance<float>? acceptance = null)
    {
        _sampler = targetSampler;
        _typical = typical;
        _acceptance = acceptance ?? new TreeAcceptance<float>(targetSampler.VocabSize);
    }

    /// <summary>
    /// Verifies <paramref name="tree"/> against the target's logits of its rows and writes the accepted nodes
    /// to <paramref name="path"/> [tree depth], their tokens then the correction or bonus to
    /// <paramref name="sequence"/> from index <paramref name="committed"/> on.
    /// </summary>
    /// <param name="targetLogits">[(tree.Count + 1) × V]: row 0 after the root (the last committed token), row i + 1 after node i.</param>
    /// <param name="sequence">The committed tokens, with room for the tree's depth + 1 after them (the sampler's history).</param>
    public Verdict Verify(ReadOnlySpan<float> targetLogits, DraftTree tree, Span<int> sequence, int committed,
        Span<int> path, Xoshiro256StarStar rng)
    {
        var rows = new TargetRows(_sampler, targetLogits, tree, sequence, committed);
        var random = new RngChoices(rng);
        var verdict = _acceptance.Walk(tree, _sampler.Options.IsGreedy, ref rows, ref random, path, _typical);
        sequence[committed + verdict.Accepted] = verdict.Token;
        return verdict;
    }

    /// <summary>p at a row from the target's logits, with the accepted path's tokens as the sampler's history; q from the tree.</summary>
    private readonly ref struct TargetRows(Sampler sampler, ReadOnlySpan<float> logits, DraftTree tree, Span<int> sequence, int committed)
        : ITreeDistributions<float>
    {
        private readonly ReadOnlySpan<float> _logits = logits;
        private readonly Span<int> _sequence = sequence;

        public int Target(int row, ReadOnlySpan<int> path, Span<float> p)
        {
            int v = sampler.VocabSize;
            for (int j = 0; j < path.Length; j++) _sequence[committed + j] = tree.Tokens[path[j]];
            return sampler.Distribution(_logits.Slice(row * v, v), _sequence[..(committed + path.Length)], p);
        }

        public ReadOnlySpan<float> Draft(int node) => tree.Q(node);
    }
}
