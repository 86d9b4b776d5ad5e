namespace SpecDec.Tensors;

/// <summary>
/// The tensor types this build's kernels can run. The one list to widen when a kernel lands: model sources
/// check their tensors against it on open (so an unsupported file fails at once and by name), and the
/// kernels' dispatch answers "supported" from it.
/// </summary>
public static class RunnableTypes
{
    public static IReadOnlySet<GgmlType> Types { get; } = new HashSet<GgmlType> { GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K,
        GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q5_K, GgmlType.IQ4_NL, GgmlType.IQ4_XS, GgmlType.MXFP4,
    };

    public static bool Contains(GgmlType type) => Types.Contains(type);
}
