namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// Reported after each item × method finishes: <paramref name="Done"/> of <paramref name="Total"/> steps
/// (warm-up steps included), and the new tokens and speed of the one just finished.
/// </summary>
public readonly record struct BenchProgress(int Done, int Total, bool WarmUp, int Run, string ItemId, string Method,
    long NewTokens, double TokensPerSecond)
{
    /// <summary>"N tokens, X tok/s"; an answer that ended at once has no rate to show.</summary>
    public string Speed => NewTokens == 0 ? "0 tokens" : string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{NewTokens} tokens, {TokensPerSecond:F1} tok/s");
}
