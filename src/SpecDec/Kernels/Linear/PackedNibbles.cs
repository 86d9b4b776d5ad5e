using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// 32 columns of 4- or 5-bit quants of a group's 8 rows in the interleaved form the packed kernels multiply
/// (<see cref="Q4_KPacked"/>'s sub-block): [4 vectors × 32 bytes] vector c: byte 4r + i holds column 4c + i of row r in
/// its low nibble and column 16 + 4c + i in its high nibble; then, for 5-bit quants, [32 bytes] of fifth bits: byte
/// 4r + i holds at bit c that of column 4c + i and at bit 4 + c that of column 16 + 4c + i. One vpdpbusd (or vpmaddubsw
/// pair) multiplies a vector's 4 columns of all 8 rows by 4 broadcast activation bytes, the 8 int32 lanes being the rows.
/// Used by <see cref="Q5_KPacked"/>, <see cref="Block32Packed{TBlock}"/> and <see cref="SuperBlockPacked{TBlock}"/>.
/// </summary>
internal static unsafe class PackedNibbles
{
    /// <summary>Bytes of the nibbles.</summary>
    public const int Bytes = 4 * 32;

    /// <summary>Bytes of the fifth bits.</summary>
    public const int FifthBytes = 32;

    /// <summary>Writes quant u (0..15, or 0..31 with <paramref name="fifth"/>) of column l (0..31) of row r (0..7); the bytes start zeroed.</summary>
    public static void Put(byte* nibbles, byte* fifth, int r, int l, int u)
    {
        int c = l % 16 / 4, i = l % 4;
        nibbles[c * 32 + r * 4 + i] |= (byte)(l < 16 ? u & 0xF : (u & 0xF) << 4);
        if (fifth != null) fifth[r * 4 + i] |= (byte)((u >> 4) << (l < 16 ? c : 4 + c));
    }

    /// <summary>Quant of column l of row r: the scalar twin's read.</summary>
    public static int Get(byte* nibbles, byte* fifth, int r, int l)
    {
        int c = l % 16 / 4, i = l % 4;
        int u = nibbles[c * 32 + r * 4 + i] >> (l < 16 ? 0 : 4) & 0xF;
        return fifth == null ? u : u | (fifth[r * 4 + i] >> (l < 16 ? c : 4 + c) & 1) << 4;
    }

    /// <summary>The 8 vectors of quants: L_c columns 4c..4c+3, H_c columns 16+4c..16+4c+3 (int8 lanes 4r + i).</summary>
    public struct Chunks
    {
        public Vector256<byte> L0, L1, L2, L3, H0, H1, H2, H3;
    }

    /// <summary>The quants at <paramref name="nibbles"/>, with the fifth bits at <paramref name="fifth"/> when not null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unpack(byte* nibbles, byte* fifth, out Chunks w)
    {
        var low = Vector256.Create((byte)0x0F);
        Vector256<byte> v0 = Vector256.Load(nibbles), v1 = Vector256.Load(nibbles + 32);
        Vector256<byte> v2 = Vector256.Load(nibbles + 64), v3 = Vector256.Load(nibbles + 96);
        w.L0 = v0 & low;
        w.L1 = v1 & low;
        w.L2 = v2 & low;
        w.L3 = v3 & low;
        w.H0 = Vector256.ShiftRightLogical(v0.AsUInt16(), 4).AsByte() & low;
        w.H1 = Vector256.ShiftRightLogical(v1.AsUInt16(), 4).AsByte() & low;
        w.H2 = Vector256.ShiftRightLogical(v2.AsUInt16(), 4).AsByte() & low;
        w.H3 = Vector256.ShiftRightLogical(v3.AsUInt16(), 4).AsByte() & low;
        if (fifth == null) return;
        // Bit c (low chunks) or 4 + c (high chunks) of each byte to bit 4: 16-bit shifts by at most 4 bring no bit of the
        // neighbouring byte to bit 4.
        Vector256<ushort> f = Vector256.Load(fifth).AsUInt16();
        var bit = Vector256.Create((byte)0x10);
        w.L0 |= Vector256.ShiftLeft(f, 4).AsByte() & bit;
        w.L1 |= Vector256.ShiftLeft(f, 3).AsByte() & bit;
        w.L2 |= Vector256.ShiftLeft(f, 2).AsByte() & bit;
        w.L3 |= Vector256.ShiftLeft(f, 1).AsByte() & bit;
        w.H0 |= f.AsByte() & bit;
        w.H1 |= Vector256.ShiftRightLogical(f, 1).AsByte() & bit;
        w.H2 |= Vector256.ShiftRightLogical(f, 2).AsByte() & bit;
        w.H3 |= Vector256.ShiftRightLogical(f, 3).AsByte() & bit;
    }

    /// <summary>The 8 rows' Σ u·a over the 32 columns (unsigned quants of at most 31), a = the 32 activation quants as 8 ints.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot<TDot>(in Chunks w, int* a) where TDot : struct, IInt8Dot
    {
        Halves<TDot>(w, a, out Vector256<int> low, out Vector256<int> high);
        return low + high;
    }

    /// <summary>
    /// The 8 rows' Σ u·a over columns 0..15 (<paramref name="low"/>) and 16..31 (<paramref name="high"/>): two independent
    /// chains, which halve the latency of one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Halves<TDot>(in Chunks w, int* a, out Vector256<int> low, out Vector256<int> high) where TDot : struct, IInt8Dot
    {
        low = TDot.Unsigned(Vector256<int>.Zero, w.L0, Broadcast(a));
        high = TDot.Unsigned(Vector256<int>.Zero, w.H0, Broadcast(a + 4));
        low = TDot.Unsigned(low, w.L1, Broadcast(a + 1));
        high = TDot.Unsigned(high, w.H1, Broadcast(a + 5));
        low = TDot.Unsigned(low, w.L2, Broadcast(a + 2));
        high = TDot.Unsigned(high, w.H2, Broadcast(a + 6));
        low = TDot.Unsigned(low, w.L3, Broadcast(a + 3));
        high = TDot.Unsigned(high, w.H3, Broadcast(a + 7));
    }

    /// <summary>The 8 prepared vectors of signed weights w = table[u], stored as u8 w + 128 (<see cref="IInt8Dot.Prepare(Vector256{byte})"/>).</summary>
    public struct OffsetChunks
    {
        public OffsetWeights L0, L1, L2, L3, H0, H1, H2, H3;
    }

    /// <summary>
    /// The 4-bit indices at <paramref name="nibbles"/> looked up in <paramref name="biasedTable"/> (a 16-entry table of
    /// w + 128 in both 128-bit halves) and prepared for <typeparamref name="TDot"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lookup<TDot>(byte* nibbles, Vector256<byte> biasedTable, out OffsetChunks w) where TDot : struct, IInt8Dot
    {
        Unpack(nibbles, null, out Chunks u);
        w.L0 = TDot.Prepare(Avx2.Shuffle(biasedTable, u.L0));
        w.L1 = TDot.Prepare(Avx2.Shuffle(biasedTable, u.L1));
        w.L2 = TDot.Prepare(Avx2.Shuffle(biasedTable, u.L2));
        w.L3 = TDot.Prepare(Avx2.Shuffle(biasedTable, u.L3));
        w.H0 = TDot.Prepare(Avx2.Shuffle(biasedTable, u.H0));
        w.H1 = TDot.Prepare(Avx2.Shuffle(biasedTable, u.H1));
        w.H2 = TDot.Prepare(Avx2.Shuffle(biasedTable, u.H2));
        w.H3 = TDot.Prepare(Avx2.Shuffle(biasedTable, u.H3));
    }

    /// <summary>start + the 8 rows' Σ w·a (or Σ (w + 128)·a where the path is <see cref="IInt8Dot.Biased"/>) over the 32 columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot<TDot>(in OffsetChunks w, int* a, Vector256<int> start) where TDot : struct, IInt8Dot
    {
        Halves<TDot>(w, a, start, Vector256<int>.Zero, out Vector256<int> low, out Vector256<int> high);
        return low + high;
    }

    /// <summary>The signed <see cref="Halves{TDot}(in Chunks, int*, out Vector256{int}, out Vector256{int})"/>, each half from its start.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Halves<TDot>(in OffsetChunks w, int* a, Vector256<int> lowStart, Vector256<int> highStart,
        out Vector256<int> low, out Vector256<int> high) where TDot : struct, IInt8Dot
    {
        low = TDot.Offset(lowStart, w.L0, Broadcast(a));
        high = TDot.Offset(highStart, w.H0, Broadcast(a + 4));
        low = TDot.Offset(low, w.L1, Broadcast(a + 1));
        high = TDot.Offset(high, w.H1, Broadcast(a + 5));
        low = TDot.Offset(low, w.L2, Broadcast(a + 2));
        high = TDot.Offset(high, w.H2, Broadcast(a + 6));
        low = TDot.Offset(low, w.L3, Broadcast(a + 3));
        high = TDot.Offset(high, w.H3, Broadcast(a + 7));
    }

    /// <summary>4 activation bytes in every int32 lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<sbyte> Broadcast(int* a) => Avx2.BroadcastScalarToVector256(a).AsSByte();
}
