using System.Text.Json.Serialization;
using SpecDec.Generation;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// One generation request of a benchmark item (one user turn, or the whole plain prompt): what it produced
/// and what it cost. <see cref="WallMs"/> covers the prefill and every round (not the tokenization), as
/// Spec-Bench times its generate call.
/// </summary>
public sealed record TurnRecord
{
    public required int PromptTokens { get; init; }

    /// <summary>Tokens in the output (a stop token is not counted).</summary>
    public required int NewTokens { get; init; }

    public required double WallMs { get; init; }
    public required double PrefillMs { get; init; }

    /// <summary>Time in the proposer (drafting, including a draft model's own prefill).</summary>
    public required double DraftMs { get; init; }

    /// <summary>Time in the target's verification forwards and the verifier.</summary>
    public required double VerifyMs { get; init; }

    /// <summary>Target forwards after the prefill: one per round.</summary>
    public required long Rounds { get; init; }
    public required long Drafted { get; init; }
    public required long Accepted { get; init; }

    /// <summary>Tokens each round produced: its accepted drafts plus the correction or bonus token.</summary>
    public required IReadOnlyList<int> AcceptLengths { get; init; }

    /// <summary>For a method that chooses how to draft each round (auto): the rounds, tokens and time of each choice; else null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, MethodUse>? Methods { get; init; }

    public required string FinishReason { get; init; }

    /// <summary>The output token ids: what the lossless check compares.</summary>
    public required IReadOnlyList<int> OutputIds { get; init; }

    /// <summary>The output decoded with its special tokens, for reading.</summary>
    public required string Text { get; init; }
}
