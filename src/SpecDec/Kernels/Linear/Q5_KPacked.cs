using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Q5_K weights repacked at load, and their matmul against Q8_K activations on every <see cref="KernelPath"/>: <see cref="Q4_KPacked"/>'s
/// layout with each sub-block's fifth bits beside its nibbles (<see cref="PackedNibbles"/>), so a quant (0..31) is its
/// nibble plus one shifted bit; scales and mins unpacked to bytes at load. The packed copy is the file's size plus
/// 32 bytes a group's super-block.
///
/// Group layout (rows 8g..8g+7, zero rows past the end), per super-block of 256 columns, 1440 bytes (8 × 176 + 32):
///   [8 × f16] d of each row, [8 × f16] dmin of each row
///   [8 sub-blocks × 8 rows] u8 scale sc, then [8 × 8] u8 min m
///   [8 sub-blocks × 160 bytes] the sub-block's 32 columns of the 8 rows as <see cref="PackedNibbles"/> (nibbles, fifth bits)
///
/// Per super-block and row: S = Σ_j sc_j · (q·a over sub-block j) and M = Σ_j m_j · (Σ a over sub-block j) in int32,
/// then y = fma(d_a, fma(−dmin, M, d·S), y) in super-block order, as <see cref="Q4_KPacked"/>. The scalar twin computes
/// the same integers and float operations: the same bits, and a row's result does not depend on T.
/// </summary>
public readonly unsafe struct Q5_KPacked : IPackedGroupKernel
{
    const int GroupRows = Q8_0Packed.GroupRows;
    const int SubBlocks = 8;
    const int ScalesOffset = 2 * GroupRows * 2;                      // after d and dmin
    const int MinsOffset = ScalesOffset + SubBlocks * GroupRows;
    const int QuantsOffset = MinsOffset + SubBlocks * GroupRows;     // 160
    const int SubBlockBytes = PackedNibbles.Bytes + PackedNibbles.FifthBytes;
    const int GroupBlockBytes = QuantsOffset + SubBlocks * SubBlockBytes; // 1440
    const int MaxPassRows = 4; // four rows' sums and mins, and the 8 unpacked vectors, fill the registers

    static int IPackedGroupKernel.BlockColumns => BlockQ5_K.Size;
    static int IPackedGroupKernel.GroupBlockBytes => GroupBlockBytes;
    static int IPackedGroupKernel.MaxPassRows => MaxPassRows;

    static void IPackedGroupKernel.Pack(in LinearWeight w, byte* dst)
    {
        int blocks = w.Columns / BlockQ5_K.Size;
        int groups = (w.Rows + GroupRows - 1) / GroupRows;
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)g * blocks + b) * GroupBlockBytes;
                for (int r = 0; r < GroupRows && g * GroupRows + r < w.Rows; r++)
                {
                    byte* src = w.Row(g * GroupRows + r) + b * BlockQ5_K.Bytes;
                    ((ushort*)o)[r] = *(ushort*)(src + BlockQ5_K.DOffset);
                    ((ushort*)o)[GroupRows + r] = *(ushort*)(src + BlockQ5_K.DMinOffset);
                    var scales = new ReadOnlySpan<byte>(src + BlockQ5_K.ScalesOffset, 12);
                    for (int j = 0; j < SubBlocks; j++)
                    {
                        (int sc, int m) = BlockQ4_K.ScaleMin(scales, j);
                        o[ScalesOffset + j * GroupRows + r] = (byte)sc;
                        o[MinsOffset + j * GroupRows + r] = (byte)m;
                        byte* sub = o + QuantsOffset + j * SubBlockBytes;
                        for (int l = 0; l < 32; l++) PackedNibbles.Put(sub, sub + PackedNibbles.Bytes, r, l, BlockQ5_K.Quant(src, 32 * j + l));
                    }
                }
            }
    }

    /// <summary>Outputs [row0, row1) of every activation row; row0 a multiple of <see cref="GroupRows"/>.</summary>
    internal static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, KernelPath path) =>
        PackedGroups.Rows<Q5_KPacked>(w, x, y, row0, row1, path);

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
                        byte* sub = block + QuantsOffset + j * SubBlockBytes;
                        int dot = 0;
                        for (int l = 0; l < 32; l++)
                            dot += PackedNibbles.Get(sub, sub + PackedNibbles.Bytes, r, l) * a[b * BlockQ5_K.Size + 32 * j + l];
                        s += block[ScalesOffset + j * GroupRows + r] * dot;
                        m += block[MinsOffset + j * GroupRows + r] * SubBlockSum(sums, b, j);
                    }
                    float d = QuantFormat.HalfAt(block + 2 * r), dmin = QuantFormat.HalfAt(block + 2 * (GroupRows + r));
                    acc = MathF.FusedMultiplyAdd(x.Q8KScale[(long)c * blocks + b], MathF.FusedMultiplyAdd(-dmin, m, d * s), acc);
                }
                y[(long)c * ldy + r] = acc;
            }
        }
    }

    /// <summary>Σ of the 32 activation quants of sub-block j of super-block b, from the two per-16 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int SubBlockSum(short* sums, int b, int j) => sums[b * 16 + 2 * j] + sums[b * 16 + 2 * j + 1];

    /// <summary>
    /// Activation rows c .. c + TRows.Count − 1 against each group of outputs [row0, row1); each sub-block's quants are
    /// unpacked once for all of them. 256-bit on every path (the 512-bit path runs these 256-bit members).
    /// </summary>
    static void IPackedGroupKernel.Pass<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
    {
        int rows = TRows.Count; // a constant: each count compiles to its own loop
        if (rows > MaxPassRows) throw new NotSupportedException($"a Q5_K pass takes at most {MaxPassRows} rows");
        int* a0 = (int*)(x.Q8K + (long)c * x.K), a1 = a0 + x.K / 4, a2 = a1 + x.K / 4, a3 = a2 + x.K / 4;
        int sumStride = x.K / ActivationQ8K.SumGroup;
        short* sums0 = x.Q8KSums + (long)c * sumStride;
        float* da = x.Q8KScale + (long)c * blocks;
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
                Vector256<int> m0 = default, m1 = default, m2 = default, m3 = default;
                for (int j = 0; j < SubBlocks; j++)
                {
                    byte* sub = block + QuantsOffset + j * SubBlockBytes;
                    Prefetch.Lines(sub, (SubBlockBytes + 63) / 64);
                    PackedNibbles.Unpack(sub, sub + PackedNibbles.Bytes, out PackedNibbles.Chunks w);
                    Vector256<int> sc = Avx2.ConvertToVector256Int32(block + ScalesOffset + j * GroupRows);
                    Vector256<int> mn = Avx2.ConvertToVector256Int32(block + MinsOffset + j * GroupRows);
                    int o = (b * BlockQ5_K.Size + 32 * j) / 4;
                    s0 += Avx2.MultiplyLow(PackedNibbles.Dot<TDot>(w, a0 + o), sc);
                    m0 += Avx2.MultiplyLow(mn, Vector256.Create(SubBlockSum(sums0, b, j)));
                    if (rows > 1)
                    {
                        s1 += Avx2.MultiplyLow(PackedNibbles.Dot<TDot>(w, a1 + o), sc);
                        m1 += Avx2.MultiplyLow(mn, Vector256.Create(SubBlockSum(sums0 + sumStride, b, j)));
                    }
                    if (rows > 2)
                    {
                        s2 += Avx2.MultiplyLow(PackedNibbles.Dot<TDot>(w, a2 + o), sc);
                        m2 += Avx2.MultiplyLow(mn, Vector256.Create(SubBlockSum(sums0 + 2 * sumStride, b, j)));
                    }
                    if (rows > 3)
                    {
                        s3 += Avx2.MultiplyLow(PackedNibbles.Dot<TDot>(w, a3 + o), sc);
                        m3 += Avx2.MultiplyLow(mn, Vector256.Create(SubBlockSum(sums0 + 3 * sumStride, b, j)));
                    }
                }
                Vector256<float> d = Q8_0Packed.Halves(block), negDmin = -Q8_0Packed.Halves(block + 2 * GroupRows);
                y0 = Finish(d, negDmin, s0, m0, da[b], y0);
                if (rows > 1) y1 = Finish(d, negDmin, s1, m1, da[blocks + b], y1);
                if (rows > 2) y2 = Finish(d, negDmin, s2, m2, da[2 * blocks + b], y2);
                if (rows > 3) y3 = Finish(d, negDmin, s3, m3, da[3 * blocks + b], y3);
            }
            Q8_0Packed.StoreRows<TRows>(y + n + (long)c * ldy, ldy, valid, y0, y1, y2, y3, default, default, default, default);
        }
    }

    /// <summary>y + d_a · (d·S − dmin·M), as the scalar twin computes it (<paramref name="negDmin"/> = −dmin).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Finish(Vector256<float> d, Vector256<float> negDmin, Vector256<int> s, Vector256<int> m, float da, Vector256<float> y) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(da),
            Vector256.FusedMultiplyAdd(negDmin, Avx.ConvertToVector256Single(m), d * Avx.ConvertToVector256Single(s)), y);
}
