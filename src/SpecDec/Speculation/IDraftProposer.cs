using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// Proposes a chain of candidate tokens that the target then verifies in one forward. A proposer keeps
/// whatever state it needs (its own KV cache, an n-gram index) in step with the committed context, and never
/// touches the target's cache. Call order per sequence: Reset, Prefill, then (Propose, Accepted)*.
/// </summary>
public interface IDraftProposer
{
    /// <summary>Starts a new sequence of at most <paramref name="capacity"/> tokens; forgets the previous one.</summary>
    /// <param name="sampling">The sampling the verifier applies; a proposer with distributions drafts under it.</param>
    void Reset(SamplingOptions sampling, int capacity);

    /// <summary>
    /// Reads the prompt (all of it but the last token, as the target's prefill does) before the first round,
    /// so that the proposer's share of prompt processing is timed as prefill, not as the first round's drafting.
    /// Proposing works without it: the first <see cref="Propose"/> then reads what was skipped.
    /// </summary>
    void Prefill(ReadOnlySpan<int> prompt);

    /// <summary>
    /// Drafts up to <paramref name="draft"/>.Length tokens that may follow <paramref name="context"/> (every
    /// committed token: the prompt and what was generated; the target has not yet seen the last one). Writes
    /// them to <paramref name="draft"/> and, when it has them, the distributions q they were drawn from to
    /// <paramref name="q"/> [Count × the target's vocabulary].
    /// </summary>
    DraftProposal Propose(ReadOnlySpan<int> context, Span<int> draft, Span<float> q, Xoshiro256StarStar rng);

    /// <summary>
    /// The verifier kept the first <paramref name="accepted"/> tokens of the last proposal; they, and the
    /// token after them, become committed and arrive in the next <see cref="Propose"/>'s context.
    /// </summary>
    void Accepted(int accepted);
}
