namespace SpecDec.Benchmarking;

/// <summary>
/// Reported after each item × method finishes: <paramref name="Done"/> of <paramref name="Total"/> steps
/// (warm-up steps included), and the speed of the one just finished.
/// </summary>
public readonly record struct BenchProgress(int Done, int Total, bool WarmUp, int Run, string ItemId, string Method,
    double TokensPerSecond);
