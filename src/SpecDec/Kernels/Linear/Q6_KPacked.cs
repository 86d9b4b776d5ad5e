using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Q6_K weights repacked at load for AVX-VNNI (the other half of a Q4_K_M file: its output head, attn_v and
/// half of ffn_down), and their matmul against Q8_K activations. 8 rows are interleaved as in
/// <see cref="Q8_0Packed"/>; the quants q (0..63) are unsigned, so vpdpbusd takes them directly and the −32
/// offset comes back as −32·Σ_g sc_g·(Σ a over group g) from the activations' per-16 sums.
///
/// Group layout (rows 8g..8g+7, zero rows past the end), per super-block of 256 columns, 1680 bytes (the
/// file's 8 × 210):
///   [8 × f16] d of each row
///   [16 groups × 8 rows] int8 scale of each group of 16 columns
///   [8 sub-blocks × 4 vectors × 32 bytes] low 4 bits: vector c of sub-block j, byte 4r + i holds column 4c + i
///   of row r in its low nibble and column 16 + 4c + i in its high nibble
///   [8 sub-blocks × 2 vectors × 32 bytes] high 2 bits: vector h, byte 4r + i, bits 2u..2u+1 hold column
///   4(4h + u) + i of row r
///
/// Per super-block and row: T = Σ_g sc_g·(q·a over g) − 32·Σ_g sc_g·(Σ a over g) in int32, then
/// y = fma(d_a, d·T, y) in super-block order; the scalar twin repeats it, so both give the same bits and a
/// row's result does not depend on T.
/// </summary>
public static unsafe class Q6_KPacked
{
    const int GroupRows = Q8_0Packed.GroupRows;
    const int Groups = 16;                                       // scale groups of 16 columns
    const int ScalesOffset = GroupRows * 2;
    const int LowOffset = ScalesOffset + Groups * GroupRows;     // 144
    const int HighOffset = LowOffset + 8 * 4 * 32;               // 1168
    const int GroupBlockBytes = HighOffset + 8 * 2 * 32;         // 1680

    public static bool Applies(SimdLevel level) => Q8_0Packed.Applies(level);

    public static long ByteCount(int rows, int columns) =>
        (long)((rows + GroupRows - 1) / GroupRows) * (columns / BlockQ6_K.Size) * GroupBlockBytes;

    /// <summary>A packed copy of <paramref name="w"/> (file layout), and the weight that reads it.</summary>
    public static (LinearWeight Weight, NativeBuffer<byte> Buffer) Pack(in LinearWeight w)
    {
        if (w.Type != Formats.GgmlType.Q6_K) throw new ArgumentException($"only Q6_K weights are packed here, not {w.Type}");
        var buffer = new NativeBuffer<byte>(ByteCount(w.Rows, w.Columns));
        Pack(w, buffer.Pointer);
        return (w with { Packed = buffer.Pointer }, buffer);
    }

    static void Pack(in LinearWeight w, byte* dst)
    {
        int blocks = w.Columns / BlockQ6_K.Size;
        int groups = (w.Rows + GroupRows - 1) / GroupRows;
        new Span<byte>(dst, checked((int)ByteCount(w.Rows, w.Columns))).Clear();
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)g * blocks + b) * GroupBlockBytes;
                for (int r = 0; r < GroupRows && g * GroupRows + r < w.Rows; r++)
                {
                    var src = new ReadOnlySpan<byte>(w.Row(g * GroupRows + r) + b * BlockQ6_K.Bytes, BlockQ6_K.Bytes);
                    ((ushort*)o)[r] = (ushort)(src[BlockQ6_K.DOffset] | src[BlockQ6_K.DOffset + 1] << 8);
                    for (int s = 0; s < Groups; s++) o[ScalesOffset + s * GroupRows + r] = src[BlockQ6_K.ScalesOffset + s];
                    for (int i = 0; i < BlockQ6_K.Size; i++)
                    {
                        int q = BlockQ6_K.Quant(src, i);
                        int j = i / 32, l = i % 32;
                        o[LowOffset + j * 128 + l % 16 / 4 * 32 + r * 4 + l % 4] |= (byte)(l < 16 ? q & 0xF : (q & 0xF) << 4);
                        o[HighOffset + j * 64 + l / 16 * 32 + r * 4 + l % 4] |= (byte)((q >> 4) << 2 * (l % 16 / 4));
                    }
                }
            }
    }

    /// <summary>The 6-bit quant of column l (0..31) of sub-block j of row r, read back from a packed super-block.</summary>
    static int Quant(byte* block, int j, int r, int l)
    {
        byte low = block[LowOffset + j * 128 + l % 16 / 4 * 32 + r * 4 + l % 4];
        byte high = block[HighOffset + j * 64 + l / 16 * 32 + r * 4 + l % 4];
        return (l < 16 ? low & 0xF : low >> 4) | (high >> 2 * (l % 16 / 4) & 3) << 4;
    }

    /// <summary>Outputs [row0, row1) of every activation row; row0 a multiple of 8.</summary>
    internal static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, SimdLevel level)
    {
        int blocks = w.Columns / BlockQ6_K.Size;
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = w.Packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            int valid = Math.Min(GroupRows, row1 - n);
            if (level == SimdLevel.Scalar || !AvxVnni.IsSupported)
                GroupScalar(group, blocks, x, y + n, w.Rows, valid);
            else
                GroupVnni(group, blocks, x, y + n, w.Rows, valid);
        }
    }

    static void GroupScalar(byte* group, int blocks, in Activations x, float* y, int ldy, int valid)
    {
        for (int c = 0; c < x.T; c++)
        {
            sbyte* a = x.Q8K + (long)c * x.K;
            short* sums = x.Q8KSums + (long)c * (x.K / ActivationQ8K.SumGroup);
            for (int r = 0; r < valid; r++)
            {
                float acc = 0;
                for (int b = 0; b < blocks; b++)
                {
                    byte* block = group + (long)b * GroupBlockBytes;
                    int s = 0, m = 0;
                    for (int g = 0; g < Groups; g++)
                    {
                        int sc = (sbyte)block[ScalesOffset + g * GroupRows + r], dot = 0;
                        for (int i = 16 * g; i < 16 * g + 16; i++) dot += Quant(block, i / 32, r, i % 32) * a[b * BlockQ6_K.Size + i];
                        s += sc * dot;
                        m += sc * sums[b * Groups + g];
                    }
                    acc = MathF.FusedMultiplyAdd(x.Q8KScale[(long)c * blocks + b], QuantFormat.HalfAt(block + 2 * r) * (s - 32 * m), acc);
                }
                y[(long)c * ldy + r] = acc;
            }
        }
    }

    static void GroupVnni(byte* group, int blocks, in Activations x, float* y, int ldy, int valid)
    {
        int c = 0;
        for (; c + 4 <= x.T; c += 4) Pass(group, blocks, x, c, 4, y, ldy, valid);
        switch (x.T - c)
        {
            case 3: Pass(group, blocks, x, c, 3, y, ldy, valid); break;
            case 2: Pass(group, blocks, x, c, 2, y, ldy, valid); break;
            case 1: Pass(group, blocks, x, c, 1, y, ldy, valid); break;
        }
    }

    /// <summary>
    /// Activation rows c .. c + rows − 1 against one group; each sub-block's quants are assembled once for all
    /// of them. <paramref name="rows"/> is a constant at every call site, so inlining leaves one loop per count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Pass(byte* group, int blocks, in Activations x, int c, int rows, float* y, int ldy, int valid)
    {
        int* a0 = (int*)(x.Q8K + (long)c * x.K), a1 = a0 + x.K / 4, a2 = a1 + x.K / 4, a3 = a2 + x.K / 4;
        int sumStride = x.K / ActivationQ8K.SumGroup;
        short* sums0 = x.Q8KSums + (long)c * sumStride;
        float* da = x.Q8KScale + (long)c * blocks;
        Vector256<float> y0 = default, y1 = default, y2 = default, y3 = default;
        for (int b = 0; b < blocks; b++)
        {
            byte* block = group + (long)b * GroupBlockBytes;
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            Vector256<int> m0 = default, m1 = default, m2 = default, m3 = default;
            for (int j = 0; j < 8; j++)
            {
                Assemble(block, j, out Quants w);
                Vector256<int> scLo = Avx2.ConvertToVector256Int32((sbyte*)block + ScalesOffset + 2 * j * GroupRows);
                Vector256<int> scHi = Avx2.ConvertToVector256Int32((sbyte*)block + ScalesOffset + (2 * j + 1) * GroupRows);
                int o = (b * BlockQ6_K.Size + 32 * j) / 4, g = b * Groups + 2 * j;
                SubBlock(w, a0 + o, scLo, scHi, sums0 + g, ref s0, ref m0);
                if (rows > 1) SubBlock(w, a1 + o, scLo, scHi, sums0 + sumStride + g, ref s1, ref m1);
                if (rows > 2) SubBlock(w, a2 + o, scLo, scHi, sums0 + 2 * sumStride + g, ref s2, ref m2);
                if (rows > 3) SubBlock(w, a3 + o, scLo, scHi, sums0 + 3 * sumStride + g, ref s3, ref m3);
            }
            Vector256<float> d = Q8_0Packed.Halves(block);
            y0 = Finish(d, s0, m0, da[b], y0);
            if (rows > 1) y1 = Finish(d, s1, m1, da[blocks + b], y1);
            if (rows > 2) y2 = Finish(d, s2, m2, da[2 * blocks + b], y2);
            if (rows > 3) y3 = Finish(d, s3, m3, da[3 * blocks + b], y3);
        }
        Q8_0Packed.Store(y0, y + (long)c * ldy, valid);
        if (rows > 1) Q8_0Packed.Store(y1, y + (long)(c + 1) * ldy, valid);
        if (rows > 2) Q8_0Packed.Store(y2, y + (long)(c + 2) * ldy, valid);
        if (rows > 3) Q8_0Packed.Store(y3, y + (long)(c + 3) * ldy, valid);
    }

    /// <summary>One sub-block's quants (0..63) for 8 rows: Q_c holds columns 4c..4c+3.</summary>
    struct Quants
    {
        public Vector256<byte> Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7;
    }

    /// <summary>Low nibbles and high bit pairs of sub-block j put together. 16-bit shifts move bits across
    /// bytes only into positions the 0x30 mask drops.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Assemble(byte* block, int j, out Quants w)
    {
        var nibble = Vector256.Create((byte)0x0F);
        var top = Vector256.Create((byte)0x30);
        byte* low = block + LowOffset + j * 128, high = block + HighOffset + j * 64;
        Vector256<byte> l0 = Vector256.Load(low), l1 = Vector256.Load(low + 32), l2 = Vector256.Load(low + 64), l3 = Vector256.Load(low + 96);
        Vector256<ushort> h0 = Vector256.Load(high).AsUInt16(), h1 = Vector256.Load(high + 32).AsUInt16();
        w.Q0 = (l0 & nibble) | (Vector256.ShiftLeft(h0, 4).AsByte() & top);
        w.Q1 = (l1 & nibble) | (Vector256.ShiftLeft(h0, 2).AsByte() & top);
        w.Q2 = (l2 & nibble) | (h0.AsByte() & top);
        w.Q3 = (l3 & nibble) | (Vector256.ShiftRightLogical(h0, 2).AsByte() & top);
        w.Q4 = (Vector256.ShiftRightLogical(l0.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftLeft(h1, 4).AsByte() & top);
        w.Q5 = (Vector256.ShiftRightLogical(l1.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftLeft(h1, 2).AsByte() & top);
        w.Q6 = (Vector256.ShiftRightLogical(l2.AsUInt16(), 4).AsByte() & nibble) | (h1.AsByte() & top);
        w.Q7 = (Vector256.ShiftRightLogical(l3.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftRightLogical(h1, 2).AsByte() & top);
    }

    /// <summary>
    /// For the group's 8 rows: s += sc·(q·a) and m += sc·(Σ a) over the sub-block's two groups of 16 columns;
    /// a = the sub-block's 32 activation quants as 8 ints, sums = their two per-16 sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void SubBlock(in Quants w, int* a, Vector256<int> scLo, Vector256<int> scHi, short* sums,
        ref Vector256<int> s, ref Vector256<int> m)
    {
        Vector256<int> lo = Vector256<int>.Zero, hi = Vector256<int>.Zero;
        lo = AvxVnni.MultiplyWideningAndAdd(lo, w.Q0, Vector256.Create(a[0]).AsSByte());
        hi = AvxVnni.MultiplyWideningAndAdd(hi, w.Q4, Vector256.Create(a[4]).AsSByte());
        lo = AvxVnni.MultiplyWideningAndAdd(lo, w.Q1, Vector256.Create(a[1]).AsSByte());
        hi = AvxVnni.MultiplyWideningAndAdd(hi, w.Q5, Vector256.Create(a[5]).AsSByte());
        lo = AvxVnni.MultiplyWideningAndAdd(lo, w.Q2, Vector256.Create(a[2]).AsSByte());
        hi = AvxVnni.MultiplyWideningAndAdd(hi, w.Q6, Vector256.Create(a[6]).AsSByte());
        lo = AvxVnni.MultiplyWideningAndAdd(lo, w.Q3, Vector256.Create(a[3]).AsSByte());
        hi = AvxVnni.MultiplyWideningAndAdd(hi, w.Q7, Vector256.Create(a[7]).AsSByte());
        s += Avx2.MultiplyLow(lo, scLo) + Avx2.MultiplyLow(hi, scHi);
        m += Avx2.MultiplyLow(scLo, Vector256.Create((int)sums[0])) + Avx2.MultiplyLow(scHi, Vector256.Create((int)sums[1]));
    }

    /// <summary>y + d_a · (d · (S − 32·M)), as the scalar twin computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Finish(Vector256<float> d, Vector256<int> s, Vector256<int> m, float da, Vector256<float> y) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(da), d * Avx.ConvertToVector256Single(s - Vector256.ShiftLeft(m, 5)), y);
}
