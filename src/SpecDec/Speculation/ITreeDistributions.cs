namespace SpecDec.Speculation;

/// <summary>The distributions <see cref="TreeAcceptance{T}"/> compares: the target's at each verified row, the draft's at each node.</summary>
internal interface ITreeDistributions<T>
{
    /// <summary>
    /// Writes into <paramref name="p"/> [V] the target's distribution after verification row
    /// <paramref name="row"/> (0: the root, node i: row i + 1), reached by accepting <paramref name="path"/>
    /// (node indices, root's child first); returns its most likely token.
    /// </summary>
    int Target(int row, ReadOnlySpan<int> path, Span<T> p);

    /// <summary>The distribution q node <paramref name="node"/> was drawn from [V].</summary>
    ReadOnlySpan<T> Draft(int node);
}
