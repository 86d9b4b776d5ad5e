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
    /// <summary>
    /// Rows a pass takes: 8 where EVEX gives the JIT 32 vector registers (each row holds a partial and a sum, 16 for 8 rows),
    /// 4 in AVX2's 16.
    /// </summary>
    static int IPackedGroupKernel.MaxPassRows => Avx512F.IsSupported ? 8 : 4;

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
    /// are unpacked once for all of them. A row's products over a sub-block are summed in the path's partial form
    /// (<see cref="IInt8Dot.Accumulate(Vector256{short}, Vector256{byte}, Vector256{sbyte})"/>: for vpmaddubsw in int16,
    /// 8 chunks of nibbles against |a| ≤ 127 stay within 30480) and scaled once by the sub-block's scale; the mins
    /// term takes one pass over the super-block's mins.
    /// </summary>
    static void IPackedGroupKernel.Pass<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
    {
        int rows = TRows.Count; // a constant: each count compiles to its own loop
        if (rows > 8) throw new NotSupportedException("a Q4_K pass takes at most 8 rows");
        int stride = x.K / 4;   // ints from one activation row's quants to the next
        int* a = (int*)(x.Q8K + (long)c * x.K);
        int sumStride = x.K / ActivationQ8K.SumGroup;
        short* sums0 = x.Q8KSums + (long)c * sumStride;
        float* da = x.Q8KScale + (long)c * blocks;
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            int valid = Math.Min(GroupRows, row1 - n); // the last group may be ragged
            var acc = new Outputs();
            for (int b = 0; b < blocks; b++)
            {
                byte* block = group + (long)b * GroupBlockBytes;
                Prefetch.Lines(block, QuantsOffset / 64 + 1); // the scales; each sub-block prefetches its quants'
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                for (int j = 0; j < SubBlocks; j++)
                {
                    byte* q = block + QuantsOffset + j * SubBlockBytes;
                    Prefetch.Lines(q, SubBlockBytes / 64);
                    int* aj = a + (b * BlockQ4_K.Size + 32 * j) / 4;
                    // Up to 2 rows each row sums in two chains (low and high nibbles), which vpdpbusd's latency wants; from 3 rows on in one.
                    Vector256<short> p0 = default, p1 = default, p2 = default, p3 = default, p4 = default, p5 = default, p6 = default, p7 = default;
                    Vector256<short> t0 = default, t1 = default;
                    Chunk<TRows, TDot>(Vector256.Load(q), aj, stride, ref p0, ref p1, ref p2, ref p3, ref p4, ref p5, ref p6, ref p7, ref t0, ref t1);
                    Chunk<TRows, TDot>(Vector256.Load(q + 32), aj + 1, stride, ref p0, ref p1, ref p2, ref p3, ref p4, ref p5, ref p6, ref p7, ref t0, ref t1);
                    Chunk<TRows, TDot>(Vector256.Load(q + 64), aj + 2, stride, ref p0, ref p1, ref p2, ref p3, ref p4, ref p5, ref p6, ref p7, ref t0, ref t1);
                    Chunk<TRows, TDot>(Vector256.Load(q + 96), aj + 3, stride, ref p0, ref p1, ref p2, ref p3, ref p4, ref p5, ref p6, ref p7, ref t0, ref t1);
                    Vector256<int> sc = TDot.ScaleForm(Avx2.ConvertToVector256Int32(block + ScalesOffset + j * GroupRows));
                    if (rows <= 2)
                    {
                        p0 = TDot.Add(p0, t0);
                        p1 = TDot.Add(p1, t1);
                    }
                    s0 += TDot.Scaled(p0, sc);
                    if (rows > 1) s1 += TDot.Scaled(p1, sc);
                    if (rows > 2) s2 += TDot.Scaled(p2, sc);
                    if (rows > 3) s3 += TDot.Scaled(p3, sc);
                    if (rows > 4) s4 += TDot.Scaled(p4, sc);
                    if (rows > 5) s5 += TDot.Scaled(p5, sc);
                    if (rows > 6) s6 += TDot.Scaled(p6, sc);
                    if (rows > 7) s7 += TDot.Scaled(p7, sc);
                }
                // The mins term M = Σ_j m_j · (Σ a over sub-block j): one vpmaddwd per sub-block and row, the min in both halves
                // of each int32 lane (one vpshufb of the 8 rows' bytes) times the sub-block's two per-16 sums; the scalar twin's M.
                Vector256<int> m0 = default, m1 = default, m2 = default, m3 = default, m4 = default, m5 = default, m6 = default, m7 = default;
                Vector256<byte> spread = Pairs();
                for (int j = 0; j < SubBlocks; j++)
                {
                    Vector256<short> mn = Avx2.Shuffle(Avx2.BroadcastScalarToVector256((long*)(block + MinsOffset + j * GroupRows)).AsByte(), spread).AsInt16();
                    short* sj = sums0 + b * 16 + 2 * j;
                    m0 += Avx2.MultiplyAddAdjacent(mn, SumPair(sj));
                    if (rows > 1) m1 += Avx2.MultiplyAddAdjacent(mn, SumPair(sj + sumStride));
                    if (rows > 2) m2 += Avx2.MultiplyAddAdjacent(mn, SumPair(sj + 2 * sumStride));
                    if (rows > 3) m3 += Avx2.MultiplyAddAdjacent(mn, SumPair(sj + 3 * sumStride));
                    if (rows > 4) m4 += Avx2.MultiplyAddAdjacent(mn, SumPair(sj + 4 * sumStride));
                    if (rows > 5) m5 += Avx2.MultiplyAddAdjacent(mn, SumPair(sj + 5 * sumStride));
                    if (rows > 6) m6 += Avx2.MultiplyAddAdjacent(mn, SumPair(sj + 6 * sumStride));
                    if (rows > 7) m7 += Avx2.MultiplyAddAdjacent(mn, SumPair(sj + 7 * sumStride));
                }
                Vector256<float> d = Q8_0Packed.Halves(block), negDmin = -Q8_0Packed.Halves(block + 2 * GroupRows);
                float* db = da + b;
                acc.Y0 = Finish(d, negDmin, s0, m0, db[0], acc.Y0);
                if (rows > 1) acc.Y1 = Finish(d, negDmin, s1, m1, db[blocks], acc.Y1);
                if (rows > 2) acc.Y2 = Finish(d, negDmin, s2, m2, db[2 * blocks], acc.Y2);
                if (rows > 3) acc.Y3 = Finish(d, negDmin, s3, m3, db[3 * blocks], acc.Y3);
                if (rows > 4) acc.Y4 = Finish(d, negDmin, s4, m4, db[4 * blocks], acc.Y4);
                if (rows > 5) acc.Y5 = Finish(d, negDmin, s5, m5, db[5 * blocks], acc.Y5);
                if (rows > 6) acc.Y6 = Finish(d, negDmin, s6, m6, db[6 * blocks], acc.Y6);
                if (rows > 7) acc.Y7 = Finish(d, negDmin, s7, m7, db[7 * blocks], acc.Y7);
            }
            Q8_0Packed.StoreRows<TRows>(y + n + (long)c * ldy, ldy, valid, acc.Y0, acc.Y1, acc.Y2, acc.Y3, acc.Y4, acc.Y5, acc.Y6, acc.Y7);
        }
    }

    /// <summary>A pass's 8 rows' outputs, touched once per super-block (in memory when the registers are taken).</summary>
    internal struct Outputs
    {
        public Vector256<float> Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7;
    }

    /// <summary>
    /// Vector v of a sub-block (4 columns in its low nibbles, the 4 columns 16 on in its high) into each row's partial; a =
    /// the first row's 4 activation bytes of the low columns, the high ones 4 ints on, the next row <paramref name="stride"/>
    /// ints on. Up to 2 rows the high nibbles go to a second chain t_r.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Chunk<TRows, TDot>(Vector256<byte> v, int* a, int stride, ref Vector256<short> p0, ref Vector256<short> p1, ref Vector256<short> p2,
        ref Vector256<short> p3, ref Vector256<short> p4, ref Vector256<short> p5, ref Vector256<short> p6, ref Vector256<short> p7,
        ref Vector256<short> t0, ref Vector256<short> t1)
        where TRows : struct, IPassRows where TDot : struct, IInt8Dot
    {
        int rows = TRows.Count;
        var low = Vector256.Create((byte)0x0F);
        Vector256<byte> l = v & low, h = Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & low;
        if (rows <= 2)
        {
            p0 = TDot.Accumulate(p0, l, Broadcast(a));
            t0 = TDot.Accumulate(t0, h, Broadcast(a + 4));
            if (rows > 1)
            {
                p1 = TDot.Accumulate(p1, l, Broadcast(a + stride));
                t1 = TDot.Accumulate(t1, h, Broadcast(a + stride + 4));
            }
            return;
        }
        p0 = Row<TDot>(p0, l, h, a);
        p1 = Row<TDot>(p1, l, h, a + stride);
        p2 = Row<TDot>(p2, l, h, a + 2 * stride);
        if (rows > 3) p3 = Row<TDot>(p3, l, h, a + 3 * stride);
        if (rows > 4) p4 = Row<TDot>(p4, l, h, a + 4 * stride);
        if (rows > 5) p5 = Row<TDot>(p5, l, h, a + 5 * stride);
        if (rows > 6) p6 = Row<TDot>(p6, l, h, a + 6 * stride);
        if (rows > 7) p7 = Row<TDot>(p7, l, h, a + 7 * stride);
    }

    /// <summary>One row's partial plus its products with a vector's low and high nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<short> Row<TDot>(Vector256<short> p, Vector256<byte> l, Vector256<byte> h, int* a) where TDot : struct, IInt8Dot =>
        TDot.Accumulate(TDot.Accumulate(p, l, Broadcast(a)), h, Broadcast(a + 4));

    /// <summary>4 activation bytes in every int32 lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<sbyte> Broadcast(int* a) => Avx2.BroadcastScalarToVector256(a).AsSByte();

    /// <summary>Two adjacent per-16 sums in every int32 lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<short> SumPair(short* s) => Avx2.BroadcastScalarToVector256((int*)s).AsInt16();

    /// <summary>vpshufb indices taking 8 broadcast bytes to int32 lanes of (byte r, byte r) as int16: lane r = [r, −, r, −].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> Pairs() => Vector256.Create(
        0, 0x80, 0, 0x80, 1, 0x80, 1, 0x80, 2, 0x80, 2, 0x80, 3, 0x80, 3, 0x80,
        4, 0x80, 4, 0x80, 5, 0x80, 5, 0x80, 6, 0x80, 6, 0x80, 7, 0x80, 7, 0x80).AsByte();

    /// <summary>y + d_a · (d·S − dmin·M), as the scalar twin computes it (<paramref name="negDmin"/> = −dmin).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Finish(Vector256<float> d, Vector256<float> negDmin, Vector256<int> s, Vector256<int> m, float da, Vector256<float> y) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(da),
            Vector256.FusedMultiplyAdd(negDmin, Avx.ConvertToVector256Single(m), d * Avx.ConvertToVector256Single(s)), y);
}
