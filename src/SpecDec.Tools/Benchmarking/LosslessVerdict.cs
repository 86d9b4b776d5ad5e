namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// Whether every method reproduced the baseline's output. Checked only under greedy decoding (at
/// temperature &gt; 0 speculation keeps the distribution, not the exact tokens); <see cref="Note"/> says why not.
/// </summary>
public sealed record LosslessVerdict(bool Checked, IReadOnlyList<LosslessMismatch> Mismatches, string Note)
{
    public bool Passed => Checked && Mismatches.Count == 0;

    public static LosslessVerdict NotChecked(string why) => new(false, [], why);
}
