namespace SpecDec.Model;

/// <summary>
/// One sequence's rows in a forward over several sequences (<see cref="ILanguageModel.Forward(in ForwardBatch, ReadOnlySpan{SequenceRows}, Span{float})"/>):
/// batch rows [Start, Start + Count), whose keys and values go to <see cref="Cache"/> and which see only that cache and
/// their own sequence's rows.
/// </summary>
public readonly record struct SequenceRows(IKvCache Cache, int Start, int Count);
