using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Q3_K and IQ4_XS weights (<see cref="IPackedSuperBlock"/>) repacked at load, and their matmul against Q8_K activations on
/// every <see cref="KernelPath"/>: 8 rows interleaved as <see cref="Q4_KPacked"/>, each value's 4-bit index as
/// <see cref="PackedNibbles"/> (Q3_K's 3-bit u = q + 4 in a nibble: a third more bytes than the file, for one shift and mask
/// a vector instead of its two bit planes), scales as bytes. IQ4_XS's copy is its file's size plus its unpacked scales.
///
/// Group layout (rows 8g..8g+7, zero rows past the end), per super-block of 256 columns, 1168 bytes:
///   [8 × f16] d of each row
///   [16 groups of 16 columns × 8 rows] int8 scale s_g
///   [8 sub-blocks × 128 bytes] the sub-block's 32 columns of the 8 rows (<see cref="PackedNibbles"/>)
///
/// Per super-block and row, in int32: S = Σ_g s_g · (Σ_{i∈g} v_i·a_i) with v = u + Offset (Q3_K: the −4 from the
/// activations' per-16 sums) or IQ4_NL's table at u (looked up as w + 128 and started at −128·Σa where the path is
/// <see cref="IInt8Dot.Biased"/>); then y = fma(d_a, d·S, y) in super-block order. The scalar twin computes the same
/// integers and float operations: the same bits, and a row's result does not depend on T.
/// </summary>
internal readonly unsafe struct SuperBlockPacked<TBlock> : IPackedGroupKernel where TBlock : IPackedSuperBlock
{
    const int GroupRows = Q8_0Packed.GroupRows;
    const int Size = 256, Groups = 16, SubBlocks = 8;
    const int ScalesOffset = GroupRows * 2;                               // after d
    const int QuantsOffset = ScalesOffset + Groups * GroupRows;           // 144
    const int GroupBlockBytes = QuantsOffset + SubBlocks * PackedNibbles.Bytes; // 1168
    const int MaxPassRows = 4; // the 8 index vectors (or their prepared weights) and four rows' sums fill the registers

    static int IPackedGroupKernel.BlockColumns => Size;
    static int IPackedGroupKernel.GroupBlockBytes => GroupBlockBytes;
    static int IPackedGroupKernel.MaxPassRows => MaxPassRows;

    static void IPackedGroupKernel.Pack(in LinearWeight w, byte* dst)
    {
        if (TBlock.HasMins && TBlock.Offset == 0) throw new NotSupportedException($"{typeof(TBlock).Name}'s offsets have no packed form");
        int blocks = w.Columns / Size;
        int groups = (w.Rows + GroupRows - 1) / GroupRows;
        sbyte* v = stackalloc sbyte[Size];
        short* scales = stackalloc short[Groups];
        short* mins = stackalloc short[Groups];
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)g * blocks + b) * GroupBlockBytes;
                for (int r = 0; r < GroupRows && g * GroupRows + r < w.Rows; r++)
                {
                    TBlock.Ints(w.Row(g * GroupRows + r) + b * TBlock.Bytes, v, scales, mins, out float d, out _);
                    ((Half*)o)[r] = (Half)d; // an f16 in every packed format: through f32 and back it keeps its bits
                    for (int k = 0; k < Groups; k++) ((sbyte*)o)[ScalesOffset + k * GroupRows + r] = checked((sbyte)scales[k]);
                    for (int i = 0; i < Size; i++) PackedNibbles.Put(o + QuantsOffset + i / 32 * PackedNibbles.Bytes, null, r, i % 32, Index(v[i]));
                }
            }
    }

    /// <summary>The stored index of value v.</summary>
    static int Index(sbyte v)
    {
        if (!TBlock.Signed) return v; // Ints gives the unsigned u, and the dot adds Offset
        int u = BlockIQ4_NL.Values.IndexOf(v);
        return u >= 0 ? u : throw new InvalidDataException($"{v} is not a value of IQ4_NL's table");
    }

    /// <summary>The value of index u: the scalar twin's read.</summary>
    static int Value(int u) => TBlock.Signed ? BlockIQ4_NL.Values[u] : u + TBlock.Offset;

    /// <summary>Outputs [row0, row1) of every activation row; row0 a multiple of <see cref="GroupRows"/>.</summary>
    internal static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, KernelPath path) =>
        PackedGroups.Rows<SuperBlockPacked<TBlock>>(w, x, y, row0, row1, path);

    static void IPackedGroupKernel.GroupScalar(byte* group, int blocks, in Activations x, float* y, int ldy, int valid)
    {
        for (int c = 0; c < x.T; c++)
        {
            sbyte* a = x.Q8K + (long)c * x.K;
            for (int r = 0; r < valid; r++)
            {
                float acc = 0;
                for (int b = 0; b < blocks; b++)
                {
                    byte* block = group + (long)b * GroupBlockBytes;
                    int s = 0;
                    for (int k = 0; k < Groups; k++)
                    {
                        int dot = 0;
                        for (int l = 16 * (k & 1); l < 16 * (k & 1) + 16; l++)
                            dot += Value(PackedNibbles.Get(block + QuantsOffset + k / 2 * PackedNibbles.Bytes, null, r, l)) * a[b * Size + 16 * k + l % 16];
                        s += ((sbyte*)block)[ScalesOffset + k * GroupRows + r] * dot;
                    }
                    acc = MathF.FusedMultiplyAdd(x.Q8KScale[(long)c * blocks + b], QuantFormat.HalfAt(block + 2 * r) * s, acc);
                }
                y[(long)c * ldy + r] = acc;
            }
        }
    }

    /// <summary>
    /// Activation rows c .. c + TRows.Count − 1 against each group of outputs [row0, row1); each sub-block's indices are
    /// unpacked once for all of them. 256-bit on every path (the 512-bit path runs these 256-bit members).
    /// </summary>
    static void IPackedGroupKernel.Pass<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
    {
        int rows = TRows.Count; // a constant: each count compiles to its own loop
        if (rows > MaxPassRows) throw new NotSupportedException($"a {typeof(TBlock).Name} pass takes at most {MaxPassRows} rows");
        int* a0 = (int*)(x.Q8K + (long)c * x.K), a1 = a0 + x.K / 4, a2 = a1 + x.K / 4, a3 = a2 + x.K / 4;
        int sumStride = x.K / ActivationQ8K.SumGroup;
        short* sums0 = x.Q8KSums + (long)c * sumStride;
        float* da = x.Q8KScale + (long)c * blocks;
        // IQ4_NL's table as w + 128, in both 128-bit halves for vpshufb.
        Vector256<byte> table = TBlock.Signed ? Vector256.Create(BlockIQ4_NL.Table, BlockIQ4_NL.Table).AsByte() ^ Vector256.Create((byte)0x80) : default;
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            int valid = Math.Min(GroupRows, row1 - n); // the last group may be ragged
            Vector256<float> y0 = default, y1 = default, y2 = default, y3 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = group + (long)b * GroupBlockBytes;
                Prefetch.Lines(block, QuantsOffset / 64 + 1); // the scales; each sub-block prefetches its quants'
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                short* sums = sums0 + b * Groups;
                for (int j = 0; j < SubBlocks; j++)
                {
                    byte* q = block + QuantsOffset + j * PackedNibbles.Bytes;
                    Prefetch.Lines(q, PackedNibbles.Bytes / 64);
                    var sc = new Scales
                    {
                        Low = Avx2.ConvertToVector256Int32((sbyte*)block + ScalesOffset + 2 * j * GroupRows),
                        High = Avx2.ConvertToVector256Int32((sbyte*)block + ScalesOffset + (2 * j + 1) * GroupRows),
                    };
                    int o = (b * Size + 32 * j) / 4;
                    short* sj = sums + 2 * j;
                    if (TBlock.Signed)
                    {
                        PackedNibbles.Lookup<TDot>(q, table, out PackedNibbles.OffsetChunks w);
                        s0 += Signed<TDot>(w, a0 + o, sj, sc);
                        if (rows > 1) s1 += Signed<TDot>(w, a1 + o, sj + sumStride, sc);
                        if (rows > 2) s2 += Signed<TDot>(w, a2 + o, sj + 2 * sumStride, sc);
                        if (rows > 3) s3 += Signed<TDot>(w, a3 + o, sj + 3 * sumStride, sc);
                    }
                    else
                    {
                        PackedNibbles.Unpack(q, null, out PackedNibbles.Chunks w);
                        s0 += Unsigned<TDot>(w, a0 + o, sj, sc);
                        if (rows > 1) s1 += Unsigned<TDot>(w, a1 + o, sj + sumStride, sc);
                        if (rows > 2) s2 += Unsigned<TDot>(w, a2 + o, sj + 2 * sumStride, sc);
                        if (rows > 3) s3 += Unsigned<TDot>(w, a3 + o, sj + 3 * sumStride, sc);
                    }
                }
                Vector256<float> d = Q8_0Packed.Halves(block);
                y0 = Vector256.FusedMultiplyAdd(Vector256.Create(da[b]), d * Avx.ConvertToVector256Single(s0), y0);
                if (rows > 1) y1 = Vector256.FusedMultiplyAdd(Vector256.Create(da[blocks + b]), d * Avx.ConvertToVector256Single(s1), y1);
                if (rows > 2) y2 = Vector256.FusedMultiplyAdd(Vector256.Create(da[2 * blocks + b]), d * Avx.ConvertToVector256Single(s2), y2);
                if (rows > 3) y3 = Vector256.FusedMultiplyAdd(Vector256.Create(da[3 * blocks + b]), d * Avx.ConvertToVector256Single(s3), y3);
            }
            Q8_0Packed.StoreRows<TRows>(y + n + (long)c * ldy, ldy, valid, y0, y1, y2, y3, default, default, default, default);
        }
    }

    /// <summary>The 8 rows' scales of a sub-block's two groups of 16, as int32 lanes.</summary>
    struct Scales
    {
        public Vector256<int> Low, High;
    }

    /// <summary>s_low·(Σ u·a + Offset·Σa over columns 0..15) + s_high·(the same over 16..31); sums = the sub-block's two per-16 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Unsigned<TDot>(in PackedNibbles.Chunks w, int* a, short* sums, in Scales sc) where TDot : struct, IInt8Dot
    {
        PackedNibbles.Halves<TDot>(w, a, out Vector256<int> low, out Vector256<int> high);
        if (TBlock.Offset != 0)
        {
            low += Vector256.Create(TBlock.Offset * sums[0]);
            high += Vector256.Create(TBlock.Offset * sums[1]);
        }
        return Avx2.MultiplyLow(low, sc.Low) + Avx2.MultiplyLow(high, sc.High);
    }

    /// <summary>The looked-up <see cref="Unsigned{TDot}"/>: each half starts at −128·Σa where the path sums w + 128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Signed<TDot>(in PackedNibbles.OffsetChunks w, int* a, short* sums, in Scales sc) where TDot : struct, IInt8Dot
    {
        Vector256<int> lowStart = TDot.Biased ? Vector256.Create(-128 * sums[0]) : default;
        Vector256<int> highStart = TDot.Biased ? Vector256.Create(-128 * sums[1]) : default;
        PackedNibbles.Halves<TDot>(w, a, lowStart, highStart, out Vector256<int> low, out Vector256<int> high);
        return Avx2.MultiplyLow(low, sc.Low) + Avx2.MultiplyLow(high, sc.High);
    }
}
