namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// One item decoded by one method in one timed run: a raw line of the benchmark's records.jsonl. A
/// multi-turn item has one <see cref="TurnRecord"/> per user turn; its speed is its tokens over its time,
/// summed over the turns, as in Spec-Bench.
/// </summary>
public sealed record BenchRecord
{
    public required string ItemId { get; init; }
    public required string Category { get; init; }
    public required string Method { get; init; }

    /// <summary>1-based timed run (warm-up is not recorded).</summary>
    public required int Run { get; init; }

    /// <summary>The turns that ran; a later turn whose prompt no longer fits the context ends the conversation.</summary>
    public required IReadOnlyList<TurnRecord> Turns { get; init; }

    public long NewTokens => Turns.Sum(t => (long)t.NewTokens);
    public double WallMs => Turns.Sum(t => t.WallMs);

    /// <summary>New tokens per second of wall time over all turns; 0 for an item that could not run.</summary>
    public double TokensPerSecond => WallMs > 0 ? NewTokens / (WallMs / 1000) : 0;

    /// <summary>New tokens per second of the time after the prefill: the decoding speed alone.</summary>
    public double DecodeTokensPerSecond => Turns.Sum(t => t.WallMs - t.PrefillMs) is double ms and > 0 ? NewTokens / (ms / 1000) : 0;
}
