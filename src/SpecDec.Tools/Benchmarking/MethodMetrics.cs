using System.Text.Json.Serialization;
using SpecDec.Generation;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// How one method did on one category (or <see cref="BenchMetrics.Overall"/>), with Spec-Bench's
/// definitions (see <see cref="BenchMetrics"/>). Totals cover every timed run.
/// </summary>
public sealed record MethodMetrics
{
    public required string Method { get; init; }
    public required string Category { get; init; }

    /// <summary>Items that ran (an item whose prompt does not fit the context is left out for every method).</summary>
    public required int Items { get; init; }

    /// <summary>Runs averaged.</summary>
    public required int Runs { get; init; }

    /// <summary>Mean over runs of the mean over items of an item's tokens per second.</summary>
    public required double TokensPerSecond { get; init; }

    /// <summary>Sample standard deviation of <see cref="TokensPerSecond"/> across runs; null for one run.</summary>
    public required double? TokensPerSecondStd { get; init; }

    /// <summary>Mean over runs of this method's tokens per second ÷ the baseline's, on the same items.</summary>
    public required double Speedup { get; init; }

    /// <summary>Sample standard deviation of the per-run speedups; null for one run.</summary>
    public required double? SpeedupStd { get; init; }

    /// <summary>
    /// Like <see cref="Speedup"/> on decoding speed alone (prefill time left out of each item's time): what
    /// speculation changes, where a long prompt's prefill on a CPU would otherwise dilute it.
    /// </summary>
    public required double DecodeSpeedup { get; init; }

    /// <summary>τ: mean tokens per target forward, the correction or bonus token included (1 for plain decoding).</summary>
    public required double Tau { get; init; }

    /// <summary>α: accepted ÷ drafted tokens; null when nothing was drafted.</summary>
    public required double? Alpha { get; init; }

    /// <summary>Share of the wall time spent drafting.</summary>
    public required double DraftShare { get; init; }

    /// <summary>Share of the wall time spent in verification forwards (for plain decoding: every decode forward).</summary>
    public required double VerifyShare { get; init; }

    /// <summary>Share of the wall time spent in the prefill.</summary>
    public required double PrefillShare { get; init; }

    public required long NewTokens { get; init; }
    public required double WallMs { get; init; }
    public required double DraftMs { get; init; }
    public required double VerifyMs { get; init; }
    public required long Rounds { get; init; }
    public required long Drafted { get; init; }
    public required long Accepted { get; init; }

    /// <summary>For a method that chooses how to draft each round (auto): each choice's rounds, tokens and time; else null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, MethodUse>? Methods { get; init; }
}
