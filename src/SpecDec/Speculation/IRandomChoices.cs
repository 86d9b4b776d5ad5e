namespace SpecDec.Speculation;

/// <summary>
/// The verifier's only sources of chance. The engine draws them from its generator; the exact test instead
/// follows every outcome with its probability.
/// </summary>
internal interface IRandomChoices<T>
{
    /// <summary>True with probability min(1, <paramref name="mass"/> / <paramref name="scale"/>): u · scale &lt; mass for u uniform in [0, 1).</summary>
    bool Accept(T mass, T scale);

    /// <summary>An index drawn with probability proportional to <paramref name="weights"/>.</summary>
    int Sample(ReadOnlySpan<T> weights);
}
