using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SpecDec.Kernels.Quant;

using SpecDec.Kernels.Linear;
using SpecDec.Tensors;

namespace SpecDec.Kernels;

/// <summary>
/// Weight rows of any supported type to f32: embedding lookup, small vectors (norms, biases) at load, and the
/// float matmul's scalar path. Covers every type of <see cref="RunnableTypes"/> (a test checks each).
/// New weight types add a case here and in <see cref="Linear.Matmul"/>.
/// </summary>
public static unsafe class Dequantize
{
    /// <summary>Whether <paramref name="type"/> can be read as weights: the one list, <see cref="RunnableTypes"/>.</summary>
    public static bool Supports(GgmlType type) => RunnableTypes.Contains(type);

    /// <summary>
    /// Row <paramref name="row"/> of the mapped tensor <paramref name="w"/> as f32 into <paramref name="dst"/> [RowLength]
    /// (an output head's row a backend hands out: <c>IOutputHeadRows</c>).
    /// </summary>
    public static void Row(WeightTensor w, long row, Span<float> dst, SimdLevel level)
    {
        if ((ulong)row >= (ulong)w.RowCount) throw new ArgumentOutOfRangeException(nameof(row), row, $"outside {w.Name}'s {w.RowCount} rows");
        if (dst.Length < w.RowLength) throw new ArgumentException($"a row of {w.Name} holds {w.RowLength} floats", nameof(dst));
        fixed (float* d = dst) Row(w.Type, (byte*)w.Data + row * w.RowBytes, d, w.RowLength, level);
    }

    /// <summary>dst[0..k) = row src of <paramref name="type"/> (k a multiple of the type's block size).</summary>
    public static void Row(GgmlType type, byte* src, float* dst, int k, SimdLevel level)
    {
        switch (type)
        {
            case GgmlType.F32:
                Buffer.MemoryCopy(src, dst, (long)k * 4, (long)k * 4);
                break;
            case GgmlType.F16:
                F16(src, dst, k, level);
                break;
            case GgmlType.BF16:
                BF16(src, dst, k, level);
                break;
            case GgmlType.Q8_0:
                BlockQ8_0.Dequantize(new ReadOnlySpan<byte>(src, k / BlockQ8_0.Size * BlockQ8_0.Bytes), new Span<float>(dst, k));
                break;
            case GgmlType.Q4_0:
                BlockQ4_0.Dequantize(new ReadOnlySpan<byte>(src, k / BlockQ4_0.Size * BlockQ4_0.Bytes), new Span<float>(dst, k));
                break;
            case GgmlType.Q4_K:
                BlockQ4_K.Dequantize(new ReadOnlySpan<byte>(src, k / BlockQ4_K.Size * BlockQ4_K.Bytes), new Span<float>(dst, k));
                break;
            case GgmlType.Q6_K:
                BlockQ6_K.Dequantize(new ReadOnlySpan<byte>(src, k / BlockQ6_K.Size * BlockQ6_K.Bytes), new Span<float>(dst, k));
                break;
            case GgmlType.Q4_1: Blocks(BlockQ4_1.Dequantize, type, src, dst, k); break;
            case GgmlType.Q5_0: Blocks(BlockQ5_0.Dequantize, type, src, dst, k); break;
            case GgmlType.Q5_1: Blocks(BlockQ5_1.Dequantize, type, src, dst, k); break;
            case GgmlType.Q2_K: Blocks(BlockQ2_K.Dequantize, type, src, dst, k); break;
            case GgmlType.Q3_K: Blocks(BlockQ3_K.Dequantize, type, src, dst, k); break;
            case GgmlType.Q5_K: Blocks(BlockQ5_K.Dequantize, type, src, dst, k); break;
            case GgmlType.IQ4_NL: Blocks(BlockIQ4_NL.Dequantize, type, src, dst, k); break;
            case GgmlType.IQ4_XS: Blocks(BlockIQ4_XS.Dequantize, type, src, dst, k); break;
            case GgmlType.MXFP4: Blocks(BlockMXFP4.Dequantize, type, src, dst, k); break;
            default:
                throw new NotSupportedException($"{type} weights are not supported yet");
        }
    }

    delegate void BlockDecoder(ReadOnlySpan<byte> src, Span<float> dst);

    static void Blocks(BlockDecoder decode, GgmlType type, byte* src, float* dst, int k) =>
        decode(new ReadOnlySpan<byte>(src, (int)GgmlTypeInfo.ByteCount(type, k)), new Span<float>(dst, k));

    public static void F16(byte* src, float* dst, int k, SimdLevel level)
    {
        int i = 0;
        if (level == SimdLevel.V512)
            for (; i + 16 <= k; i += 16) Float512.Store(F16Reader512.Load(src, i), dst + i);
        else if (level == SimdLevel.V256)
            for (; i + 8 <= k; i += 8) Float256.Store(F16Reader256.Load(src, i), dst + i);
        for (; i < k; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf(((ushort*)src)[i]);
    }

    public static void BF16(byte* src, float* dst, int k, SimdLevel level)
    {
        int i = 0;
        if (level == SimdLevel.V512)
            for (; i + 16 <= k; i += 16) Float512.Store(BF16Reader512.Load(src, i), dst + i);
        else if (level == SimdLevel.V256)
            for (; i + 8 <= k; i += 8) Float256.Store(BF16Reader256.Load(src, i), dst + i);
        for (; i < k; i++) dst[i] = BFloat16ToSingle(((ushort*)src)[i]);
    }

    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>
    /// IEEE half bits (zero-extended to 32) to float without denormal arithmetic: normals get their exponent
    /// rebiased, Inf/NaN get the all-ones exponent, subnormals are built as (2^-14 + m·2^-24) − 2^-14 exactly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToFloat(Vector512<uint> h)
    {
        Vector512<uint> em = (h & Vector512.Create(0x7fffu)) << 13;
        Vector512<uint> normal = em + Vector512.Create(112u << 23);
        normal = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(em, Vector512.Create(0x7c00u << 13)),
            normal + Vector512.Create(112u << 23), normal);
        Vector512<float> sub = (em + Vector512.Create(113u << 23)).AsSingle() - Vector512.Create(113u << 23).AsSingle();
        Vector512<uint> bits = Vector512.ConditionalSelect(Vector512.LessThan(em, Vector512.Create(0x0400u << 13)),
            sub.AsUInt32(), normal);
        return (bits | ((h & Vector512.Create(0x8000u)) << 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfToFloat(Vector256<uint> h)
    {
        Vector256<uint> em = (h & Vector256.Create(0x7fffu)) << 13;
        Vector256<uint> normal = em + Vector256.Create(112u << 23);
        normal = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7c00u << 13)),
            normal + Vector256.Create(112u << 23), normal);
        Vector256<float> sub = (em + Vector256.Create(113u << 23)).AsSingle() - Vector256.Create(113u << 23).AsSingle();
        Vector256<uint> bits = Vector256.ConditionalSelect(Vector256.LessThan(em, Vector256.Create(0x0400u << 13)),
            sub.AsUInt32(), normal);
        return (bits | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();
    }
}
