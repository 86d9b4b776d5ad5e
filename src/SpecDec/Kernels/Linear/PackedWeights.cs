using SpecDec.Tensors;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Which weight types have a layout repacked at load for this CPU (<see cref="Q8_0Packed"/>,
/// <see cref="Q4_KPacked"/>, <see cref="Q6_KPacked"/>), and the packing itself; the matmul reads <see cref="LinearWeight.Packed"/>
/// when it is set.
/// </summary>
public static class PackedWeights
{
    public static bool Applies(GgmlType type, SimdLevel level) =>
        type is GgmlType.Q8_0 or GgmlType.Q4_K or GgmlType.Q6_K && PackedGroups.Supported(level);

    /// <summary>A packed copy of <paramref name="w"/>, and the weight that reads it; only for a type that <see cref="Applies"/>.</summary>
    public static (LinearWeight Weight, NativeBuffer<byte> Buffer) Pack(in LinearWeight w) => w.Type switch
    {
        GgmlType.Q8_0 => PackedGroups.Pack<Q8_0Packed>(w),
        GgmlType.Q4_K => PackedGroups.Pack<Q4_KPacked>(w),
        GgmlType.Q6_K => PackedGroups.Pack<Q6_KPacked>(w),
        _ => throw new ArgumentException($"{w.Type} weights have no packed layout"),
    };
}
