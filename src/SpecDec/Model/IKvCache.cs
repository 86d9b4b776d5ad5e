namespace SpecDec.Model;

/// <summary>
/// Keys and values of one sequence, preallocated for Capacity positions. A forward of n tokens appends n
/// rows (Length += n); speculation then trims what the verifier rejected.
/// </summary>
public interface IKvCache
{
    int Length { get; }
    int Capacity { get; }

    /// <summary>Forget every row at index ≥ length (0 ≤ length ≤ Length).</summary>
    void Rollback(int length);

    /// <summary>
    /// Keep rows [0, start) plus the listed rows (ascending absolute indices ≥ start), moved down to
    /// start, start+1, …; Length becomes start + rows.Length. Accepts one path of a verified token tree.
    /// </summary>
    void KeepRows(int start, ReadOnlySpan<int> rows);
}
