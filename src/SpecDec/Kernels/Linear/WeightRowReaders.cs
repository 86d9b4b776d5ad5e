using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// A float weight row (F32, F16 or BF16) read as f32 vectors, converted in registers: what lets the decode
/// path of <see cref="FloatMatmul"/> skip the conversion pass through scratch. The values are exactly those
/// <see cref="Dequantize.Row"/> writes.
/// </summary>
internal unsafe interface IWeightRowReader<TVec> where TVec : unmanaged, IFloatVector<TVec>
{
    /// <summary>Elements i .. i + TVec.Width of the row.</summary>
    static abstract TVec Load(byte* row, int i);

    /// <summary>Element i of the row.</summary>
    static abstract float At(byte* row, int i);
}

internal unsafe struct F32Reader512 : IWeightRowReader<Float512>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Load(byte* row, int i) => Float512.Load((float*)row + i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float At(byte* row, int i) => ((float*)row)[i];
}

internal unsafe struct F32Reader256 : IWeightRowReader<Float256>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Load(byte* row, int i) => Float256.Load((float*)row + i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float At(byte* row, int i) => ((float*)row)[i];
}

internal unsafe struct F16Reader512 : IWeightRowReader<Float512>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float512 Load(byte* row, int i) =>
        new(Dequantize.HalfToFloat(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)row + i))));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float At(byte* row, int i) => (float)BitConverter.UInt16BitsToHalf(((ushort*)row)[i]);
}

internal unsafe struct F16Reader256 : IWeightRowReader<Float256>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Load(byte* row, int i) =>
        new(Dequantize.HalfToFloat(Avx2.ConvertToVector256Int32(Vector128.Load((ushort*)row + i)).AsUInt32()));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float At(byte* row, int i) => (float)BitConverter.UInt16BitsToHalf(((ushort*)row)[i]);
}

/// <summary>F16 bits as <see cref="HalfBits.Scaled(short)"/> reads them: the weights times 2^−112, for activations scaled by 2^112.</summary>
internal unsafe struct F16BitsReader512 : IWeightRowReader<Float512>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float512 Load(byte* row, int i) => new(HalfBits.Scaled(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)row + i))));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float At(byte* row, int i) => HalfBits.Scaled(((short*)row)[i]);
}

internal unsafe struct F16BitsReader256 : IWeightRowReader<Float256>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Load(byte* row, int i) => new(HalfBits.Scaled(Avx2.ConvertToVector256Int32(Vector128.Load((short*)row + i))));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float At(byte* row, int i) => HalfBits.Scaled(((short*)row)[i]);
}

internal unsafe struct BF16Reader512 : IWeightRowReader<Float512>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float512 Load(byte* row, int i) =>
        new(Vector512.ShiftLeft(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)row + i)), 16).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float At(byte* row, int i) => Dequantize.BFloat16ToSingle(((ushort*)row)[i]);
}

internal unsafe struct BF16Reader256 : IWeightRowReader<Float256>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Load(byte* row, int i) =>
        new(Vector256.ShiftLeft(Avx2.ConvertToVector256Int32(Vector128.Load((ushort*)row + i)), 16).AsSingle());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float At(byte* row, int i) => Dequantize.BFloat16ToSingle(((ushort*)row)[i]);
}
