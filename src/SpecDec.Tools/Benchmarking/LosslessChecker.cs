namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// The lossless check (Spec-Bench's evaluation/equal.py, on token ids rather than text): under greedy
/// decoding every method, in every run, must produce exactly the baseline's first-run token ids on every
/// turn of every item. The baseline's later runs are checked too, which catches non-determinism.
/// </summary>
public static class LosslessChecker
{
    public static LosslessVerdict Check(IReadOnlyList<BenchRecord> records, string baseline = BenchMethods.Baseline)
    {
        var reference = new Dictionary<string, BenchRecord>(StringComparer.Ordinal);
        foreach (var r in records.Where(r => r.Method == baseline).OrderBy(r => r.Run))
            reference.TryAdd(r.ItemId, r);
        if (reference.Count == 0) return LosslessVerdict.NotChecked($"no records of the baseline '{baseline}'");

        var mismatches = new List<LosslessMismatch>();
        int compared = 0;
        foreach (var record in records)
        {
            if (!reference.TryGetValue(record.ItemId, out var expected))
                throw new InvalidOperationException($"item {record.ItemId} has records of {record.Method} but none of the baseline");
            if (ReferenceEquals(record, expected)) continue;
            compared++;
            if (FirstDifference(expected, record) is { } mismatch) mismatches.Add(mismatch);
        }
        string note = mismatches.Count == 0
            ? $"{compared} outputs equal the baseline's token for token"
            : $"{mismatches.Count} of {compared} outputs differ from the baseline's";
        return new LosslessVerdict(true, mismatches, note);
    }

    /// <summary>The first differing token of the first turn that differs, or null when the outputs are equal.</summary>
    public static LosslessMismatch? FirstDifference(BenchRecord expected, BenchRecord actual)
    {
        int turns = Math.Max(expected.Turns.Count, actual.Turns.Count);
        for (int t = 0; t < turns; t++)
        {
            var a = t < expected.Turns.Count ? expected.Turns[t].OutputIds : null;
            var b = t < actual.Turns.Count ? actual.Turns[t].OutputIds : null;
            if (a is null || b is null)
                return Mismatch(t, 0, a is { Count: > 0 } ? a[0] : null, b is { Count: > 0 } ? b[0] : null);
            int n = Math.Min(a.Count, b.Count);
            int i = 0;
            while (i < n && a[i] == b[i]) i++;
            if (i < n || a.Count != b.Count)
                return Mismatch(t, i, i < a.Count ? a[i] : null, i < b.Count ? b[i] : null);
        }
        return null;

        LosslessMismatch Mismatch(int turn, int index, int? baselineToken, int? methodToken) =>
            new(actual.ItemId, actual.Category, actual.Method, actual.Run, turn + 1, index, baselineToken, methodToken);
    }
}
