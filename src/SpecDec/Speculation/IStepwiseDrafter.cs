using SpecDec.Model;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// A proposer whose proposal is a series of forwards of its own draft model, driven from outside one forward at a
/// time, so that a scheduler can run several sequences' draft forwards as one
/// (<see cref="ILanguageModel.Forward(in ForwardBatch, ReadOnlySpan{SequenceRows}, Span{float})"/>: each row gets the
/// bits it gets alone, so the drafts are those of <see cref="IDraftProposer.Propose"/>). Its <c>Propose</c> is
/// <see cref="BeginPropose"/> and <see cref="ContinuePropose"/> with each forward run alone.
/// </summary>
internal interface IStepwiseDrafter : IDraftProposer
{
    /// <summary>The model the forwards run on.</summary>
    ILanguageModel DraftModel { get; }

    /// <summary>The sequence's cache on <see cref="DraftModel"/>.</summary>
    IKvCache DraftCache { get; }

    /// <summary>The rows of the forward wanted next (causal, at most <see cref="ForwardBatch.MaxRows"/>): their tokens …</summary>
    ReadOnlySpan<int> FeedTokens { get; }

    /// <summary>… and positions; only the last row's logits are read.</summary>
    ReadOnlySpan<int> FeedPositions { get; }

    /// <summary>
    /// Starts a proposal as <see cref="IDraftProposer.Propose"/> would (what it cannot hand out as one forward it runs
    /// itself); true when it wants the forward of <see cref="FeedTokens"/>, false when the proposal is complete.
    /// </summary>
    bool BeginPropose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng);

    /// <summary>
    /// Goes on with the logits [draft logit count] of the last row of that forward; true when it wants another forward,
    /// false when the proposal is complete.
    /// </summary>
    bool ContinuePropose(ReadOnlySpan<float> logits);
}
