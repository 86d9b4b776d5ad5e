using SpecDec.Kernels.Quant;
using SpecDec.Tensors;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Which weight types have a layout repacked at load for this CPU (<see cref="Q8_0Packed"/>,
/// <see cref="Q4_KPacked"/>, <see cref="Q5_KPacked"/>, <see cref="Q6_KPacked"/>, <see cref="Block32Packed{TBlock}"/> for Q4_1, Q5_0,
/// Q5_1, IQ4_NL and MXFP4, <see cref="SuperBlockPacked{TBlock}"/> for Q3_K and IQ4_XS), and the packing itself; the matmul reads <see cref="LinearWeight.Packed"/> when it is set.
/// </summary>
public static class PackedWeights
{
    public static bool Applies(GgmlType type, SimdLevel level) =>
        HasLayout(type) && PackedGroups.Supported(level);

    /// <summary>Whether <paramref name="type"/> has a packed layout (on the SIMD paths).</summary>
    public static bool HasLayout(GgmlType type) => type is GgmlType.Q8_0 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K
        or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.IQ4_NL or GgmlType.MXFP4 or GgmlType.Q3_K or GgmlType.IQ4_XS;

    /// <summary>A packed copy of <paramref name="w"/>, and the weight that reads it; only for a type that <see cref="Applies"/>.</summary>
    public static (LinearWeight Weight, NativeBuffer<byte> Buffer) Pack(in LinearWeight w) => w.Type switch
    {
        GgmlType.Q8_0 => PackedGroups.Pack<Q8_0Packed>(w),
        GgmlType.Q4_K => PackedGroups.Pack<Q4_KPacked>(w),
        GgmlType.Q5_K => PackedGroups.Pack<Q5_KPacked>(w),
        GgmlType.Q6_K => PackedGroups.Pack<Q6_KPacked>(w),
        GgmlType.Q4_1 => PackedGroups.Pack<Block32Packed<BlockQ4_1>>(w),
        GgmlType.Q5_0 => PackedGroups.Pack<Block32Packed<BlockQ5_0>>(w),
        GgmlType.Q5_1 => PackedGroups.Pack<Block32Packed<BlockQ5_1>>(w),
        GgmlType.IQ4_NL => PackedGroups.Pack<Block32Packed<BlockIQ4_NL>>(w),
        GgmlType.MXFP4 => PackedGroups.Pack<Block32Packed<BlockMXFP4>>(w),
        GgmlType.Q3_K => PackedGroups.Pack<SuperBlockPacked<BlockQ3_K>>(w),
        GgmlType.IQ4_XS => PackedGroups.Pack<SuperBlockPacked<BlockIQ4_XS>>(w),
        _ => throw new ArgumentException($"{w.Type} weights have no packed layout"),
    };
}
