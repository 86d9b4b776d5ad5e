namespace SpecDec.Model;

/// <summary>
/// Keys and values of one sequence, preallocated for Capacity positions. A forward of n tokens appends n
/// rows (Length += n); speculation then trims what the verifier rejected.
/// </summary>
public interface IKvCache
{
    int Length { get; }
    int Capacity { get; }

    /// <summary>
    /// The positions the sequence may reach (a request's prompt + max tokens): Capacity, or less after
    /// <see cref="Restart"/>. A LongRoPE model rotates every position of the sequence with the table this implies
    /// (<see cref="ModelConfig.TakesLongRope"/>), so it is fixed while the cache holds rows. The forward's bound stays
    /// Capacity.
    /// </summary>
    int Limit { get; }

    /// <summary>Forgets every row and starts a new sequence of at most <paramref name="limit"/> positions (1 ≤ limit ≤ Capacity).</summary>
    void Restart(int limit);

    /// <summary>Forget every row at index ≥ length (0 ≤ length ≤ Length).</summary>
    void Rollback(int length);

    /// <summary>
    /// Keep rows [0, start) plus the listed rows (ascending absolute indices ≥ start), moved down to
    /// start, start+1, …; Length becomes start + rows.Length. Accepts one path of a verified token tree.
    /// </summary>
    void KeepRows(int start, ReadOnlySpan<int> rows);
}
