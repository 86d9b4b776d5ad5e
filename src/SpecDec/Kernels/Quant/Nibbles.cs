using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// The 4-bit halves of ggml's blocks of 32 (byte j: element j low, element j + 16 high) and the fifth bits of
/// Q5_0/Q5_1 (bit j of a 32-bit word for element j), unpacked in registers.
/// </summary>
internal static unsafe class Nibbles
{
    /// <summary>The 32 nibbles of 16 bytes at qs, in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Unpack(byte* qs)
    {
        Vector128<byte> q = Vector128.Load(qs);
        return Vector256.Create(q, Vector128.ShiftRightLogical(q.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);
    }

    /// <summary>16 where bit j of the little-endian word at qh is set, else 0, for j = 0..31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> FifthBits(byte* qh)
    {
        // Byte j/8 of the word into lane j, then test bit j % 8.
        Vector256<byte> bytes = Avx2.Shuffle(Vector256.Create(*(uint*)qh).AsByte(),
            Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        Vector256<byte> bit = Vector256.Create(0x8040201008040201ul).AsByte();
        return Vector256.Equals(bytes & bit, bit) & Vector256.Create((byte)16);
    }

    /// <summary>Table lookup of the 32 nibbles at qs (16 bytes) in a 16-entry int8 table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> Lookup(byte* qs, Vector128<sbyte> table) =>
        Avx2.Shuffle(Vector256.Create(table, table), Unpack(qs).AsSByte());
}
