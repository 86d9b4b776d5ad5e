using SpecDec.Model;

namespace SpecDec.Formats;

/// <summary>
/// The tensor types this build's kernels can run. The one list to widen when a kernel lands; every model
/// source checks its tensors against it on open, so an unsupported file fails at once and by name.
/// </summary>
public static class RunnableTypes
{
    public static IReadOnlySet<GgmlType> Types { get; } = new HashSet<GgmlType> { GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K };

    public static void Check(IEnumerable<WeightTensor> tensors, string path)
    {
        foreach (WeightTensor t in tensors)
        {
            if (!Types.Contains(t.Type))
                throw new ModelFormatException(path,
                    $"tensor {t.Name} has type {t.Type}, which this version cannot run yet (it runs {string.Join(", ", Types)})");
        }
    }
}
