using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Q6_K weights repacked at load, and their matmul against Q8_K activations on every <see cref="KernelPath"/>: 8 rows
/// interleaved as in <see cref="Q4_KPacked"/>, each 6-bit quant (0..63, unsigned) rebuilt from its low nibble and its
/// two high bits, then multiplied by the activations like Q4_K's nibbles. The packed copy is as large as the file's.
///
/// Group layout (rows 8g..8g+7, zero rows past the end), per super-block of 256 columns, 1680 bytes (8 × 210):
///   [8 × f16] d of each row
///   [16 groups of 16 columns × 8 rows] int8 scale
///   [8 sub-blocks of 32 columns × 192 bytes]:
///     [4 vectors × 32 bytes] vector c: byte 4r + i holds the low nibbles of column 4c + i of row r (low) and of
///                            column 16 + 4c + i (high), as Q4_K's
///     [2 × 32 bytes] high bits: byte 32·(c &amp; 1) + 4r + i holds, at bits 4·(c >> 1), the top two bits of column
///                            4c + i, and at bits 4·(c >> 1) + 2 those of column 16 + 4c + i, so vectors c and c + 1
///                            (c even) take the same shifts
///
/// Per super-block and row: S = Σ_g sc_g · (q·a − 32·Σa over group g) in int32 (the −32 offset from the activations'
/// per-16 sums, as <see cref="Q6_KDot"/>), then y = fma(d_a, d·S, y) in super-block order. The scalar twin computes
/// the same integers and the same float operations: the same bits, and a row's result does not depend on T.
/// </summary>
public readonly unsafe struct Q6_KPacked : IPackedGroupKernel
{
    const int GroupRows = Q8_0Packed.GroupRows;
    const int SubBlocks = 8;
    const int ScalesOffset = GroupRows * 2;                           // after d
    const int SubBlocksOffset = ScalesOffset + 16 * GroupRows;        // 144
    const int HighOffset = 4 * 32;                                    // in a sub-block, after the nibbles
    const int SubBlockBytes = HighOffset + 2 * 32;                    // 192
    const int GroupBlockBytes = SubBlocksOffset + SubBlocks * SubBlockBytes; // 1680

    static void IPackedGroupKernel.Pack(in LinearWeight w, byte* dst)
    {
        int blocks = w.Columns / BlockQ6_K.Size;
        int groups = (w.Rows + GroupRows - 1) / GroupRows;
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)g * blocks + b) * GroupBlockBytes;
                for (int r = 0; r < GroupRows && g * GroupRows + r < w.Rows; r++)
                {
                    var src = new ReadOnlySpan<byte>(w.Row(g * GroupRows + r) + b * BlockQ6_K.Bytes, BlockQ6_K.Bytes);
                    ((ushort*)o)[r] = (ushort)(src[BlockQ6_K.DOffset] | src[BlockQ6_K.DOffset + 1] << 8);
                    for (int k = 0; k < 16; k++) o[ScalesOffset + k * GroupRows + r] = src[BlockQ6_K.ScalesOffset + k];
                    for (int col = 0; col < BlockQ6_K.Size; col++)
                    {
                        int q = BlockQ6_K.Quant(src, col), j = col / 32, l = col % 32;
                        var (nibble, high, shift) = Offsets(j, r, l);
                        o[nibble] |= (byte)((q & 0xF) << (l < 16 ? 0 : 4));
                        o[high] |= (byte)((q >> 4) << shift);
                    }
                }
            }
    }

    /// <summary>Where column l (0..31) of sub-block j of row r lives: its nibble's byte, its high bits' byte and their shift there.</summary>
    static (int Nibble, int High, int Shift) Offsets(int j, int r, int l)
    {
        int c = l % 16 / 4, i = l % 4;
        int sub = SubBlocksOffset + j * SubBlockBytes;
        return (sub + c * 32 + r * 4 + i, sub + HighOffset + (c & 1) * 32 + r * 4 + i, 4 * (c >> 1) + (l < 16 ? 0 : 2));
    }

    /// <summary>Outputs [row0, row1) of every activation row; row0 a multiple of <see cref="GroupRows"/>.</summary>
    internal static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, KernelPath path) =>
        PackedGroups.Rows<Q6_KPacked>(w, x, y, row0, row1, path);

    static int IPackedGroupKernel.BlockColumns => BlockQ6_K.Size;
    static int IPackedGroupKernel.GroupBlockBytes => GroupBlockBytes;
    /// <summary>Rows a pass takes: the 8 unpacked quant vectors and a sum per row fit EVEX's 32 registers at 8 rows, AVX2's 16 at 4.</summary>
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
                    int s = 0;
                    for (int k = 0; k < 16; k++)
                    {
                        int dot = -32 * sums[b * 16 + k];
                        for (int l = 16 * (k & 1); l < 16 * (k & 1) + 16; l++)
                        {
                            var (nibble, high, shift) = Offsets(k / 2, r, l);
                            int q = (block[nibble] >> (l < 16 ? 0 : 4) & 0xF) | (block[high] >> shift & 3) << 4;
                            dot += q * a[b * BlockQ6_K.Size + 16 * k + l % 16];
                        }
                        s += (sbyte)block[ScalesOffset + k * GroupRows + r] * dot;
                    }
                    float d = QuantFormat.HalfAt(block + 2 * r);
                    acc = MathF.FusedMultiplyAdd(x.Q8KScale[(long)c * blocks + b], d * s, acc);
                }
                y[(long)c * ldy + r] = acc;
            }
        }
    }

    /// <summary>
    /// Activation rows c .. c + TRows.Count − 1 against each group of outputs [row0, row1); each sub-block's quants are
    /// rebuilt once for all of them. A row's products over a group of 16 columns are summed in the path's partial form, two
    /// chunks a partial (for vpmaddubsw in int16: 2 chunks of 6-bit quants against |a| ≤ 127 stay within 32004), and scaled
    /// once by the group's scale; the −32 offset starts each int32 partial or, with int16 partials, is one vpmaddwd per sub-block and row (<see cref="Scales.Offsets"/>).
    /// </summary>
    static void IPackedGroupKernel.Pass<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
    {
        int rows = TRows.Count; // a constant: each count compiles to its own loop
        if (rows > 8) throw new NotSupportedException("a Q6_K pass takes at most 8 rows");
        int stride = x.K / 4;   // ints from one activation row's quants to the next
        int* a = (int*)(x.Q8K + (long)c * x.K);
        int sumStride = x.K / ActivationQ8K.SumGroup;
        short* sums0 = x.Q8KSums + (long)c * sumStride;
        float* da = x.Q8KScale + (long)c * blocks;
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            int valid = Math.Min(GroupRows, row1 - n); // the last group may be ragged
            var acc = new Q4_KPacked.Outputs();
            for (int b = 0; b < blocks; b++)
            {
                byte* block = group + (long)b * GroupBlockBytes;
                Prefetch.Lines(block, SubBlocksOffset / 64 + 1);
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                for (int j = 0; j < SubBlocks; j++)
                {
                    byte* sub = block + SubBlocksOffset + j * SubBlockBytes;
                    Prefetch.Lines(sub, SubBlockBytes / 64);
                    Vector256<int> low = Avx2.ConvertToVector256Int32((sbyte*)block + ScalesOffset + 2 * j * GroupRows);
                    Vector256<int> high = Avx2.ConvertToVector256Int32((sbyte*)block + ScalesOffset + (2 * j + 1) * GroupRows);
                    var sc = new Scales { Low = TDot.ScaleForm(low), High = TDot.ScaleForm(high) };
                    if (TDot.Int16Partials) sc.Offsets = OffsetScales(low, high);
                    int* aj = a + (b * BlockQ6_K.Size + 32 * j) / 4;
                    short* sj = sums0 + b * 16 + 2 * j;
                    Quants q = Unpack(sub);
                    s0 += SubBlock<TDot>(q, aj, sc, sj);
                    if (rows > 1) s1 += SubBlock<TDot>(q, aj + stride, sc, sj + sumStride);
                    if (rows > 2) s2 += SubBlock<TDot>(q, aj + 2 * stride, sc, sj + 2 * sumStride);
                    if (rows > 3) s3 += SubBlock<TDot>(q, aj + 3 * stride, sc, sj + 3 * sumStride);
                    if (rows > 4) s4 += SubBlock<TDot>(q, aj + 4 * stride, sc, sj + 4 * sumStride);
                    if (rows > 5) s5 += SubBlock<TDot>(q, aj + 5 * stride, sc, sj + 5 * sumStride);
                    if (rows > 6) s6 += SubBlock<TDot>(q, aj + 6 * stride, sc, sj + 6 * sumStride);
                    if (rows > 7) s7 += SubBlock<TDot>(q, aj + 7 * stride, sc, sj + 7 * sumStride);
                }
                Vector256<float> d = Q8_0Packed.Halves(block);
                float* db = da + b;
                acc.Y0 = Finish(d, s0, db[0], acc.Y0);
                if (rows > 1) acc.Y1 = Finish(d, s1, db[blocks], acc.Y1);
                if (rows > 2) acc.Y2 = Finish(d, s2, db[2 * blocks], acc.Y2);
                if (rows > 3) acc.Y3 = Finish(d, s3, db[3 * blocks], acc.Y3);
                if (rows > 4) acc.Y4 = Finish(d, s4, db[4 * blocks], acc.Y4);
                if (rows > 5) acc.Y5 = Finish(d, s5, db[5 * blocks], acc.Y5);
                if (rows > 6) acc.Y6 = Finish(d, s6, db[6 * blocks], acc.Y6);
                if (rows > 7) acc.Y7 = Finish(d, s7, db[7 * blocks], acc.Y7);
            }
            Q8_0Packed.StoreRows<TRows>(y + n + (long)c * ldy, ldy, valid, acc.Y0, acc.Y1, acc.Y2, acc.Y3, acc.Y4, acc.Y5, acc.Y6, acc.Y7);
        }
    }

    /// <summary>
    /// A sub-block's scales for the 8 rows: its two groups' (columns 0..15 and 16..31) in the path's form, and with int16
    /// partials −32 times both as int16 pairs (low group, high group) in each int32 lane for the offset's vpmaddwd
    /// (|−32 · sc| ≤ 4096), since an int16 partial has no room for the offset.
    /// </summary>
    struct Scales
    {
        public Vector256<int> Low, High, Offsets;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> OffsetScales(Vector256<int> low, Vector256<int> high) =>
        (-Vector256.ShiftLeft(low, 5) & Vector256.Create(0xFFFF)) | Vector256.ShiftLeft(-high, 21);

    /// <summary>A sub-block's quants for 8 rows: L_c columns 4c..4c+3, H_c columns 16+4c..16+4c+3.</summary>
    struct Quants
    {
        public Vector256<byte> L0, L1, L2, L3, H0, H1, H2, H3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Quants Unpack(byte* sub)
    {
        Vector256<byte> nibble = Vector256.Create((byte)0x0F), top = Vector256.Create((byte)0x30);
        Vector256<byte> v0 = Vector256.Load(sub), v1 = Vector256.Load(sub + 32), v2 = Vector256.Load(sub + 64), v3 = Vector256.Load(sub + 96);
        Vector256<ushort> hEven = Vector256.Load((ushort*)(sub + HighOffset)), hOdd = Vector256.Load((ushort*)(sub + HighOffset + 32));
        // Vectors 0 and 2 take their high bits from the first 32 bytes, 1 and 3 from the next; the shifts bring bits 0, 2 (c < 2) or 4, 6 to bits 4–5.
        return new Quants
        {
            L0 = (v0 & nibble) | (Vector256.ShiftLeft(hEven, 4).AsByte() & top),
            H0 = (Vector256.ShiftRightLogical(v0.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftLeft(hEven, 2).AsByte() & top),
            L1 = (v1 & nibble) | (Vector256.ShiftLeft(hOdd, 4).AsByte() & top),
            H1 = (Vector256.ShiftRightLogical(v1.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftLeft(hOdd, 2).AsByte() & top),
            L2 = (v2 & nibble) | (hEven.AsByte() & top),
            H2 = (Vector256.ShiftRightLogical(v2.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftRightLogical(hEven, 2).AsByte() & top),
            L3 = (v3 & nibble) | (hOdd.AsByte() & top),
            H3 = (Vector256.ShiftRightLogical(v3.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftRightLogical(hOdd, 2).AsByte() & top),
        };
    }

    /// <summary>
    /// sc_low·(q·a − 32·Σa over columns 0..15) + sc_high·(… over 16..31) for the group's 8 rows; a = the sub-block's 32
    /// activation quants as 8 ints, sums = its two per-16 sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> SubBlock<TDot>(in Quants q, int* a, in Scales sc, short* sums) where TDot : struct, IInt8Dot
    {
        if (TDot.Int16Partials)
            return Avx2.MultiplyAddAdjacent(sc.Offsets.AsInt16(), Q4_KPacked.SumPair(sums)) + Pair<TDot>(q.L0, q.L1, a, sc.Low) + Pair<TDot>(q.L2, q.L3, a + 2, sc.Low)
                + Pair<TDot>(q.H0, q.H1, a + 4, sc.High) + Pair<TDot>(q.H2, q.H3, a + 6, sc.High);
        // int32 partials: one chain per group, starting at the group's offset −32·Σa, the two chains interleaved for vpdpbusd's latency.
        Vector256<short> l = TDot.Accumulate(Vector256.Create(-32 * sums[0]).AsInt16(), q.L0, Broadcast(a));
        Vector256<short> h = TDot.Accumulate(Vector256.Create(-32 * sums[1]).AsInt16(), q.H0, Broadcast(a + 4));
        l = TDot.Accumulate(l, q.L1, Broadcast(a + 1));
        h = TDot.Accumulate(h, q.H1, Broadcast(a + 5));
        l = TDot.Accumulate(l, q.L2, Broadcast(a + 2));
        h = TDot.Accumulate(h, q.H2, Broadcast(a + 6));
        l = TDot.Accumulate(l, q.L3, Broadcast(a + 3));
        h = TDot.Accumulate(h, q.H3, Broadcast(a + 7));
        return TDot.Scaled(l, sc.Low) + TDot.Scaled(h, sc.High);
    }

    /// <summary>scale · Σ of 2 chunks' products: one int16 partial (at most 32004).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Pair<TDot>(Vector256<byte> q0, Vector256<byte> q1, int* a, Vector256<int> scale) where TDot : struct, IInt8Dot =>
        TDot.Scaled(TDot.Accumulate(TDot.Accumulate(default, q0, Broadcast(a)), q1, Broadcast(a + 1)), scale);

    /// <summary>4 activation bytes in every int32 lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<sbyte> Broadcast(int* a) => Avx2.BroadcastScalarToVector256(a).AsSByte();

    /// <summary>y + d_a · (d · S), as the scalar twin computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Finish(Vector256<float> d, Vector256<int> s, float da, Vector256<float> y) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(da), d * Avx.ConvertToVector256Single(s), y);
}
