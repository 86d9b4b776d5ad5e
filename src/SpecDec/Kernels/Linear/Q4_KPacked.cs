using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Q4_K weights repacked at load, and their matmul against Q8_K activations on every <see cref="KernelPath"/>. In the file's layout
/// each weight row is unpacked (nibbles, 6-bit scales) once per call and reduced horizontally per activation
/// row; here 8 rows are interleaved as in <see cref="Q8_0Packed"/>: one vpdpbusd (or vpmaddubsw + vpmaddwd)
/// multiplies 4 columns of all 8 rows (their nibbles are already unsigned) by 4 broadcast activation bytes, the 8 lanes are the 8 outputs,
/// and scales and mins are unpacked to bytes once at load.
///
/// Group layout (rows 8g..8g+7, zero rows past the end), per super-block of 256 columns, 1184 bytes (the
/// file's 8 × 144 = 1152 plus unpacked scales):
///   [8 × f16] d of each row, [8 × f16] dmin of each row
///   [8 sub-blocks × 8 rows] u8 scale sc, then [8 × 8] u8 min m
///   [8 sub-blocks × 4 vectors × 32 bytes] vector c of sub-block j: byte 4r + i holds column 4c + i of row r
///   in its low nibble and column 16 + 4c + i in its high nibble
///
/// Per super-block and row: S = Σ_j sc_j · (q·a over sub-block j) and M = Σ_j m_j · (Σ a over sub-block j) in
/// int32, then y = fma(d_a, fma(−dmin, M, d·S), y) in super-block order. The scalar twin computes the same
/// integers and the same float operations, so both give the same bits and a row's result does not depend on T.
/// </summary>
public readonly unsafe struct Q4_KPacked : IPackedGroupKernel
{
    const int GroupRows = Q8_0Packed.GroupRows;
    const int SubBlocks = BlockQ4_K.SubBlocks;
    const int ScalesOffset = 2 * GroupRows * 2;                      // after d and dmin
    const int MinsOffset = ScalesOffset + SubBlocks * GroupRows;
    const int QuantsOffset = MinsOffset + SubBlocks * GroupRows;     // 160
    const int SubBlockBytes = 4 * 32;
    const int GroupBlockBytes = QuantsOffset + SubBlocks * SubBlockBytes; // 1184

    /// <summary>Writes the packed copy of <paramref name="w"/> (file layout) into a zeroed buffer.</summary>
    static void IPackedGroupKernel.Pack(in LinearWeight w, byte* dst)
    {
        int blocks = w.Columns / BlockQ4_K.Size;
        int groups = (w.Rows + GroupRows - 1) / GroupRows;
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)g * blocks + b) * GroupBlockBytes;
                for (int r = 0; r < GroupRows && g * GroupRows + r < w.Rows; r++)
                {
                    byte* src = w.Row(g * GroupRows + r) + b * BlockQ4_K.Bytes;
                    ((ushort*)o)[r] = *(ushort*)(src + BlockQ4_K.DOffset);
                    ((ushort*)o)[GroupRows + r] = *(ushort*)(src + BlockQ4_K.DMinOffset);
                    var scales = new ReadOnlySpan<byte>(src + BlockQ4_K.ScalesOffset, 12);
                    byte* qs = src + BlockQ4_K.QsOffset;
                    for (int j = 0; j < SubBlocks; j++)
                    {
                        (int sc, int m) = BlockQ4_K.ScaleMin(scales, j);
                        o[ScalesOffset + j * GroupRows + r] = (byte)sc;
                        o[MinsOffset + j * GroupRows + r] = (byte)m;
                        for (int l = 0; l < 32; l++)
                        {
                            int q = qs[32 * (j / 2) + l] >> 4 * (j & 1) & 0xF;
                            o[QuantOffset(j, r, l)] |= (byte)(l < 16 ? q : q << 4);
                        }
                    }
                }
            }
    }

    /// <summary>The byte holding column l (0..31) of sub-block j of row r: low nibble for l &lt; 16, high for the rest.</summary>
    static int QuantOffset(int j, int r, int l) => QuantsOffset + j * SubBlockBytes + l % 16 / 4 * 32 + r * 4 + l % 4;

    /// <summary>Outputs [row0, row1) of every activation row; row0 a multiple of <see cref="GroupRows"/>.</summary>
    internal static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, KernelPath path) =>
        PackedGroups.Rows<Q4_KPacked>(w, x, y, row0, row1, path);

    static int IPackedGroupKernel.BlockColumns => BlockQ4_K.Size;
    static int IPackedGroupKernel.GroupBlockBytes => GroupBlockBytes;
    const int MaxPassRows = 4; // four rows' sums and mins, and the unpacked nibbles, fill the registers
    static int IPackedGroupKernel.MaxPassRows => MaxPassRows;

    static void IPackedGroupKernel.GroupScalar(byte* group, int blocks, in Activations x, float* y, int ldy, int valid)
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
                    for (int j = 0; j < SubBlocks; j++)
                    {
                        int dot = 0;
                        for (int l = 0; l < 32; l++)
                        {
                            int q = block[QuantOffset(j, r, l)] >> (l < 16 ? 0 : 4) & 0xF;
                            dot += q * a[b * BlockQ4_K.Size + 32 * j + l];
                        }
                        s += block[ScalesOffset + j * GroupRows + r] * dot;
                        m += block[MinsOffset + j * GroupRows + r] * SubBlockSum(sums, b, j);
                    }
                    float d = QuantFormat.HalfAt(block + 2 * r), dmin = QuantFormat.HalfAt(block + 2 * (GroupRows + r));
                    float v = MathF.FusedMultiplyAdd(-dmin, m, d * s);
                    acc = MathF.FusedMultiplyAdd(x.Q8KScale[(long)c * blocks + b], v, acc);
                }
                y[(long)c * ldy + r] = acc;
            }
        }
    }

    /// <summary>Σ of the 32 activation quants of sub-block j of super-block b, from the two per-16 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int SubBlockSum(short* sums, int b, int j) => sums[b * 16 + 2 * j] + sums[b * 16 + 2 * j + 1];

    /// <summary>
    /// Activation rows c .. c + TRows.Count − 1 against each group of outputs [row0, row1); each sub-block's nibbles
    /// are unpacked once for all of them.
    /// </summary>
    static void IPackedGroupKernel.Pass<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
    {
        int rows = TRows.Count; // a constant: each count compiles to its own loop
        if (rows > MaxPassRows) throw new NotSupportedException($"a Q4_K pass takes at most {MaxPassRows} rows");
        if (TDot.Wide)
        {
            Pass512<TRows, TDot>(packed, blocks, row0, row1, x, c, y, ldy);
            return;
        }
        int* a0 = (int*)(x.Q8K + (long)c * x.K), a1 = a0 + x.K / 4, a2 = a1 + x.K / 4, a3 = a2 + x.K / 4;
        int sumStride = x.K / ActivationQ8K.SumGroup;
        short* sums0 = x.Q8KSums + (long)c * sumStride;
        float* da = x.Q8KScale + (long)c * blocks;
        var low = Vector256.Create((byte)0x0F);
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            int valid = Math.Min(GroupRows, row1 - n); // the last group may be ragged
            float* yg = y + n;
            Vector256<float> y0 = default, y1 = default, y2 = default, y3 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = group + (long)b * GroupBlockBytes;
                Prefetch.Lines(block, QuantsOffset / 64 + 1); // the scales; each sub-block prefetches its quants'
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                Vector256<int> m0 = default, m1 = default, m2 = default, m3 = default;
                for (int j = 0; j < SubBlocks; j++)
                {
                    byte* q = block + QuantsOffset + j * SubBlockBytes;
                    Prefetch.Lines(q, SubBlockBytes / 64);
                    Vector256<byte> v0 = Vector256.Load(q), v1 = Vector256.Load(q + 32), v2 = Vector256.Load(q + 64), v3 = Vector256.Load(q + 96);
                    var w = new Nibbles
                    {
                        L0 = v0 & low, L1 = v1 & low, L2 = v2 & low, L3 = v3 & low,
                        H0 = Vector256.ShiftRightLogical(v0.AsUInt16(), 4).AsByte() & low,
                        H1 = Vector256.ShiftRightLogical(v1.AsUInt16(), 4).AsByte() & low,
                        H2 = Vector256.ShiftRightLogical(v2.AsUInt16(), 4).AsByte() & low,
                        H3 = Vector256.ShiftRightLogical(v3.AsUInt16(), 4).AsByte() & low,
                    };
                    Vector256<int> sc = Avx2.ConvertToVector256Int32(block + ScalesOffset + j * GroupRows);
                    Vector256<int> mn = Avx2.ConvertToVector256Int32(block + MinsOffset + j * GroupRows);
                    int o = (b * BlockQ4_K.Size + 32 * j) / 4;
                    SubBlock<TDot>(w, a0 + o, sc, mn, SubBlockSum(sums0, b, j), ref s0, ref m0);
                    if (rows > 1) SubBlock<TDot>(w, a1 + o, sc, mn, SubBlockSum(sums0 + sumStride, b, j), ref s1, ref m1);
                    if (rows > 2) SubBlock<TDot>(w, a2 + o, sc, mn, SubBlockSum(sums0 + 2 * sumStride, b, j), ref s2, ref m2);
                    if (rows > 3) SubBlock<TDot>(w, a3 + o, sc, mn, SubBlockSum(sums0 + 3 * sumStride, b, j), ref s3, ref m3);
                }
                Vector256<float> d = Q8_0Packed.Halves(block), negDmin = -Q8_0Packed.Halves(block + 2 * GroupRows);
                y0 = Finish(d, negDmin, s0, m0, da[b], y0);
                if (rows > 1) y1 = Finish(d, negDmin, s1, m1, da[blocks + b], y1);
                if (rows > 2) y2 = Finish(d, negDmin, s2, m2, da[2 * blocks + b], y2);
                if (rows > 3) y3 = Finish(d, negDmin, s3, m3, da[3 * blocks + b], y3);
            }
            Q8_0Packed.StoreRows<TRows>(yg + (long)c * ldy, ldy, valid, y0, y1, y2, y3, default, default, default, default);
        }
    }

    /// <summary>
    /// The 512-bit pass (AVX-512BW): a vector holds two chunks of the 8 rows (vectors 0–1 and 2–3 of a sub-block, low or
    /// high nibbles), and the activation's sub-block (8 ints) is spread to match by vpermd, as in <see cref="Q8_0Packed"/>.
    /// </summary>
    static void Pass512<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
        where TRows : struct, IPassRows where TDot : struct, IInt8Dot
    {
        int rows = TRows.Count;
        sbyte* a0 = x.Q8K + (long)c * x.K, a1 = a0 + x.K, a2 = a1 + x.K, a3 = a2 + x.K;
        int sumStride = x.K / ActivationQ8K.SumGroup;
        short* sums0 = x.Q8KSums + (long)c * sumStride;
        float* da = x.Q8KScale + (long)c * blocks;
        var low = Vector512.Create((byte)0x0F);
        var picks = new Picks512
        {
            L01 = Q8_0Packed.Pick(0), L23 = Q8_0Packed.Pick(2), H01 = Q8_0Packed.Pick(4), H23 = Q8_0Packed.Pick(6),
        };
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            int valid = Math.Min(GroupRows, row1 - n);
            float* yg = y + n;
            Vector256<float> y0 = default, y1 = default, y2 = default, y3 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = group + (long)b * GroupBlockBytes;
                Prefetch.Lines(block, QuantsOffset / 64 + 1);
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                Vector256<int> m0 = default, m1 = default, m2 = default, m3 = default;
                for (int j = 0; j < SubBlocks; j++)
                {
                    byte* q = block + QuantsOffset + j * SubBlockBytes;
                    Prefetch.Lines(q, SubBlockBytes / 64);
                    Vector512<byte> v01 = Vector512.Load(q), v23 = Vector512.Load(q + 64);
                    var w = new Nibbles512
                    {
                        L01 = v01 & low, L23 = v23 & low,
                        H01 = Vector512.ShiftRightLogical(v01.AsUInt16(), 4).AsByte() & low,
                        H23 = Vector512.ShiftRightLogical(v23.AsUInt16(), 4).AsByte() & low,
                    };
                    Vector256<int> sc = Avx2.ConvertToVector256Int32(block + ScalesOffset + j * GroupRows);
                    Vector256<int> mn = Avx2.ConvertToVector256Int32(block + MinsOffset + j * GroupRows);
                    int o = b * BlockQ4_K.Size + 32 * j;
                    SubBlock512<TDot>(w, picks, a0 + o, sc, mn, SubBlockSum(sums0, b, j), ref s0, ref m0);
                    if (rows > 1) SubBlock512<TDot>(w, picks, a1 + o, sc, mn, SubBlockSum(sums0 + sumStride, b, j), ref s1, ref m1);
                    if (rows > 2) SubBlock512<TDot>(w, picks, a2 + o, sc, mn, SubBlockSum(sums0 + 2 * sumStride, b, j), ref s2, ref m2);
                    if (rows > 3) SubBlock512<TDot>(w, picks, a3 + o, sc, mn, SubBlockSum(sums0 + 3 * sumStride, b, j), ref s3, ref m3);
                }
                Vector256<float> d = Q8_0Packed.Halves(block), negDmin = -Q8_0Packed.Halves(block + 2 * GroupRows);
                y0 = Finish(d, negDmin, s0, m0, da[b], y0);
                if (rows > 1) y1 = Finish(d, negDmin, s1, m1, da[blocks + b], y1);
                if (rows > 2) y2 = Finish(d, negDmin, s2, m2, da[2 * blocks + b], y2);
                if (rows > 3) y3 = Finish(d, negDmin, s3, m3, da[3 * blocks + b], y3);
            }
            Q8_0Packed.StoreRows<TRows>(yg + (long)c * ldy, ldy, valid, y0, y1, y2, y3, default, default, default, default);
        }
    }

    /// <summary>One sub-block's nibbles for 8 rows, two chunks a vector: L01 columns 0..7, L23 8..15, H01 16..23, H23 24..31.</summary>
    struct Nibbles512
    {
        public Vector512<byte> L01, L23, H01, H23;
    }

    /// <summary>vpermd indices spreading a sub-block's 8 activation ints to match <see cref="Nibbles512"/>.</summary>
    struct Picks512
    {
        public Vector512<int> L01, L23, H01, H23;
    }

    /// <summary>The 512-bit <see cref="SubBlock{TDot}"/>; a = the sub-block's 32 activation quants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void SubBlock512<TDot>(in Nibbles512 w, in Picks512 p, sbyte* a, Vector256<int> sc, Vector256<int> mn, int sum,
        ref Vector256<int> s, ref Vector256<int> m) where TDot : struct, IInt8Dot
    {
        Vector512<int> xs = Vector256.Load((int*)a).ToVector512Unsafe();
        Vector512<int> d = TDot.Unsigned(Vector512<int>.Zero, w.L01, Avx512F.PermuteVar16x32(xs, p.L01).AsSByte());
        d = TDot.Unsigned(d, w.L23, Avx512F.PermuteVar16x32(xs, p.L23).AsSByte());
        d = TDot.Unsigned(d, w.H01, Avx512F.PermuteVar16x32(xs, p.H01).AsSByte());
        d = TDot.Unsigned(d, w.H23, Avx512F.PermuteVar16x32(xs, p.H23).AsSByte());
        s += Avx2.MultiplyLow(d.GetLower() + d.GetUpper(), sc);
        m += Avx2.MultiplyLow(mn, Vector256.Create(sum));
    }

    /// <summary>One sub-block's nibbles for 8 rows: L_c columns 4c..4c+3, H_c columns 16+4c..16+4c+3.</summary>
    struct Nibbles
    {
        public Vector256<byte> L0, L1, L2, L3, H0, H1, H2, H3;
    }

    /// <summary>s += sc · (q·a over the sub-block), m += mn · Σa, for the group's 8 rows; a = the sub-block's 32 activation quants as 8 ints.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void SubBlock<TDot>(in Nibbles w, int* a, Vector256<int> sc, Vector256<int> mn, int sum, ref Vector256<int> s, ref Vector256<int> m)
        where TDot : struct, IInt8Dot
    {
        // Two independent chains (integer sums: the split does not change the result) halve the latency.
        Vector256<int> d0 = Vector256<int>.Zero, d1 = Vector256<int>.Zero;
        d0 = TDot.Unsigned(d0, w.L0, Vector256.Create(a[0]).AsSByte());
        d1 = TDot.Unsigned(d1, w.L1, Vector256.Create(a[1]).AsSByte());
        d0 = TDot.Unsigned(d0, w.L2, Vector256.Create(a[2]).AsSByte());
        d1 = TDot.Unsigned(d1, w.L3, Vector256.Create(a[3]).AsSByte());
        d0 = TDot.Unsigned(d0, w.H0, Vector256.Create(a[4]).AsSByte());
        d1 = TDot.Unsigned(d1, w.H1, Vector256.Create(a[5]).AsSByte());
        d0 = TDot.Unsigned(d0, w.H2, Vector256.Create(a[6]).AsSByte());
        d1 = TDot.Unsigned(d1, w.H3, Vector256.Create(a[7]).AsSByte());
        s += Avx2.MultiplyLow(d0 + d1, sc);
        m += Avx2.MultiplyLow(mn, Vector256.Create(sum));
    }

    /// <summary>y + d_a · (d·S − dmin·M), as the scalar twin computes it (<paramref name="negDmin"/> = −dmin).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Finish(Vector256<float> d, Vector256<float> negDmin, Vector256<int> s, Vector256<int> m, float da, Vector256<float> y) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(da),
            Vector256.FusedMultiplyAdd(negDmin, Avx.ConvertToVector256Single(m), d * Avx.ConvertToVector256Single(s)), y);
}
