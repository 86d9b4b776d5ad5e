using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// Dot products of Q6_K weight rows with Q8_K activation rows (<see cref="ActivationQ8K"/>), as llama.cpp's
/// ggml_vec_dot_q6_K_q8_K: the unsigned quants q (0..63) multiply the activations directly, and the −32
/// offset comes back as −32·Σ_g sc_g·(Σ a over group g) from the activations' per-16 sums; per super-block
/// y += d_a·d·(Σ_g sc_g·(q·a over g) − 32·Σ_g sc_g·sum_g). Quants and scales of a super-block are unpacked
/// once and applied to every activation row: for up to four rows with the accumulators in registers, for
/// more with them on the stack, 16 rows per pass over the weight row.
/// </summary>
internal readonly unsafe struct Q6_KDot : IKQuantRowKernel
{
    const int RowChunk = 16;

    /// <summary>y[c·ldy + n] = W[n] · X[c] for weight rows n in [row0, row1) (rowBytes apart from w) and c in [0, T).</summary>
    public static void Rows(byte* w, long rowBytes, int row0, int row1, in Int8Rows x, float* y, int ldy, SimdLevel level) =>
        KQuantRows.Run<Q6_KDot>(w, rowBytes, row0, row1, x, y, ldy, level);

    public static void RowScalar(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ6_K.Size;
        var packed = new ReadOnlySpan<byte>(row, blocks * BlockQ6_K.Bytes);
        for (int c = 0; c < x.T; c++)
        {
            sbyte* a = x.Q + (long)c * x.K;
            float* da = x.Scale + (long)c * blocks;
            short* sums = x.Sums + (long)c * (x.K / ActivationQ8K.SumGroup);
            float total = 0;
            for (int b = 0; b < blocks; b++)
            {
                ReadOnlySpan<byte> block = packed.Slice(b * BlockQ6_K.Bytes, BlockQ6_K.Bytes);
                int dot = 0, offset = 0;
                for (int g = 0; g < 16; g++)
                {
                    int sc = (sbyte)block[BlockQ6_K.ScalesOffset + g], sub = 0;
                    for (int i = 16 * g; i < 16 * g + 16; i++) sub += BlockQ6_K.Quant(block, i) * a[b * 256 + i];
                    dot += sc * sub;
                    offset += sc * sums[b * 16 + g];
                }
                total += da[b] * QuantFormat.HalfAt(row + b * BlockQ6_K.Bytes + BlockQ6_K.DOffset) * (dot - 32 * offset);
            }
            y[(long)c * ldy] = total;
        }
    }

    /// <summary>One super-block unpacked into registers: 4 × 64 quants (0..63) in element order and their scales.</summary>
    struct Unpacked
    {
        public Vector512<byte> Q0, Q1, Q2, Q3;
        public Vector512<short> S0, S1, S2, S3;
        public Vector256<short> Scales;
        public float D;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Unpack(byte* block, Vector512<short> pick0, Vector512<short> pick1, Vector512<short> pick2, Vector512<short> pick3,
        out Unpacked u)
    {
        Vector512<byte> nibble = Vector512.Create((byte)0x0F), three = Vector512.Create((byte)3);
        Vector512<byte> ql0 = Vector512.Load(block + BlockQ6_K.QlOffset), ql1 = Vector512.Load(block + BlockQ6_K.QlOffset + 64);
        Vector256<byte> qh0 = Vector256.Load(block + BlockQ6_K.QhOffset), qh1 = Vector256.Load(block + BlockQ6_K.QhOffset + 32);
        // In each half of 128, ql's low nibbles are quants 0..63 and its high nibbles 64..127, in order;
        // qh byte l carries the top bits of quants l, l+32, l+64, l+96 in bit pairs 0, 2, 4, 6.
        u.Q0 = (ql0 & nibble) | High(qh0, 0, 2, three);
        u.Q1 = (Vector512.ShiftRightLogical(ql0.AsUInt16(), 4).AsByte() & nibble) | High(qh0, 4, 6, three);
        u.Q2 = (ql1 & nibble) | High(qh1, 0, 2, three);
        u.Q3 = (Vector512.ShiftRightLogical(ql1.AsUInt16(), 4).AsByte() & nibble) | High(qh1, 4, 6, three);

        u.Scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(block + BlockQ6_K.ScalesOffset)));
        Vector512<short> sc512 = u.Scales.ToVector512Unsafe();
        u.S0 = Avx512BW.PermuteVar32x16(sc512, pick0);
        u.S1 = Avx512BW.PermuteVar32x16(sc512, pick1);
        u.S2 = Avx512BW.PermuteVar32x16(sc512, pick2);
        u.S3 = Avx512BW.PermuteVar32x16(sc512, pick3);
        u.D = QuantFormat.HalfAt(block + BlockQ6_K.DOffset);
    }

    /// <summary>Σ_g sc_g·(q·a over g) − 32·Σ_g sc_g·sum_g as 16 int32 partial sums, for the 256 activations at a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<int> Dot(in Unpacked u, sbyte* a, short* sums)
    {
        Vector512<int> dot = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Q0, Vector512.Load(a)), u.S0)
                           + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Q1, Vector512.Load(a + 64)), u.S1)
                           + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Q2, Vector512.Load(a + 128)), u.S2)
                           + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Q3, Vector512.Load(a + 192)), u.S3);
        Vector256<int> offset = Avx2.MultiplyAddAdjacent(Vector256.Load(sums), u.Scales);
        return dot - Vector256.ShiftLeft(offset, 5).ToVector512();
    }

    /// <summary>
    /// y[c·ldy] = W_row · X[c] for the T ≤ 4 rows of X: one pass over the weight row, accumulators in registers
    /// (so consecutive super-blocks overlap instead of waiting on stores and reloads).
    /// </summary>
    public static void RowGroupAvx512(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ6_K.Size, sumsPerRow = x.K / ActivationQ8K.SumGroup, count = x.T;
        Vector512<short> pick0 = Spread(0), pick1 = Spread(4), pick2 = Spread(8), pick3 = Spread(12);
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int b = 0; b < blocks; b++)
        {
            Unpack(row + b * BlockQ6_K.Bytes, pick0, pick1, pick2, pick3, out Unpacked u);
            int o = b * BlockQ6_K.Size;
            acc0 = Step(u, x.Q + o, x.Sums + b * 16, x.Scale[b], acc0);
            if (count > 1) acc1 = Step(u, x.Q + x.K + o, x.Sums + sumsPerRow + b * 16, x.Scale[blocks + b], acc1);
            if (count > 2) acc2 = Step(u, x.Q + 2 * x.K + o, x.Sums + 2 * sumsPerRow + b * 16, x.Scale[2 * blocks + b], acc2);
            if (count > 3) acc3 = Step(u, x.Q + 3 * x.K + o, x.Sums + 3 * sumsPerRow + b * 16, x.Scale[3 * blocks + b], acc3);
        }
        y[0] = Vector512.Sum(acc0);
        if (count > 1) y[ldy] = Vector512.Sum(acc1);
        if (count > 2) y[2 * ldy] = Vector512.Sum(acc2);
        if (count > 3) y[3 * ldy] = Vector512.Sum(acc3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Step(in Unpacked u, sbyte* a, short* sums, float da, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u, a, sums)), Vector512.Create(u.D * da), acc);

    /// <summary>More than four rows: accumulators on the stack for up to 16 rows per pass over the weight row.</summary>
    public static void RowAvx512(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ6_K.Size;
        int sumsPerRow = x.K / ActivationQ8K.SumGroup;
        // vpermw indices spreading scales 4k..4k+3 over the 8 int16 lanes each that 16 quants produce.
        Vector512<short> pick0 = Spread(0), pick1 = Spread(4), pick2 = Spread(8), pick3 = Spread(12);
        Vector512<float>* accs = stackalloc Vector512<float>[RowChunk];
        for (int c0 = 0; c0 < x.T; c0 += RowChunk)
        {
            int c1 = Math.Min(x.T, c0 + RowChunk);
            for (int c = c0; c < c1; c++) accs[c - c0] = Vector512<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                Unpack(row + b * BlockQ6_K.Bytes, pick0, pick1, pick2, pick3, out Unpacked u);
                for (int c = c0; c < c1; c++)
                {
                    Vector512<int> dot = Dot(u, x.Q + (long)c * x.K + b * BlockQ6_K.Size, x.Sums + (long)c * sumsPerRow + b * 16);
                    accs[c - c0] = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot),
                        Vector512.Create(u.D * x.Scale[(long)c * blocks + b]), accs[c - c0]);
                }
            }
            for (int c = c0; c < c1; c++) y[(long)c * ldy] = Vector512.Sum(accs[c - c0]);
        }
    }

    /// <summary>Top two bits of 64 quants, in place (bits 4–5): qh's bit pair at shiftLo for the first 32, at shiftHi for the next.</summary>
    static Vector512<byte> High(Vector256<byte> qh, int shiftLo, int shiftHi, Vector512<byte> three)
    {
        Vector512<byte> bits = Vector512.Create(Vector256.ShiftRightLogical(qh.AsUInt16(), shiftLo).AsByte(),
                                                Vector256.ShiftRightLogical(qh.AsUInt16(), shiftHi).AsByte()) & three;
        return Vector512.ShiftLeft(bits.AsUInt16(), 4).AsByte();
    }

    /// <summary>Lane indices [j ×8, j+1 ×8, j+2 ×8, j+3 ×8] for vpermw.</summary>
    static Vector512<short> Spread(int j) => Vector512.Create(
        Vector256.Create(Vector128.Create((short)j), Vector128.Create((short)(j + 1))),
        Vector256.Create(Vector128.Create((short)(j + 2)), Vector128.Create((short)(j + 3))));

    public static void RowAvx2(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ6_K.Size;
        int sumsPerRow = x.K / ActivationQ8K.SumGroup;
        Vector256<float>* acc = stackalloc Vector256<float>[RowChunk];
        Vector256<byte> nibble = Vector256.Create((byte)0x0F), three = Vector256.Create((byte)3);
        for (int c0 = 0; c0 < x.T; c0 += RowChunk)
        {
            int c1 = Math.Min(x.T, c0 + RowChunk);
            for (int c = c0; c < c1; c++) acc[c - c0] = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = row + b * BlockQ6_K.Bytes;
                var scales = (sbyte*)(block + BlockQ6_K.ScalesOffset);
                Vector256<short> sc = Avx2.ConvertToVector256Int16(Vector128.Load(scales));
                float d = QuantFormat.HalfAt(block + BlockQ6_K.DOffset);
                for (int c = c0; c < c1; c++)
                {
                    sbyte* a = x.Q + (long)c * x.K + b * BlockQ6_K.Size;
                    Vector256<int> dot = Vector256<int>.Zero;
                    for (int half = 0; half < 2; half++)
                    {
                        Vector256<byte> qlA = Vector256.Load(block + BlockQ6_K.QlOffset + 64 * half);
                        Vector256<byte> qlB = Vector256.Load(block + BlockQ6_K.QlOffset + 64 * half + 32);
                        Vector256<ushort> qh = Vector256.Load(block + BlockQ6_K.QhOffset + 32 * half).AsUInt16();
                        for (int quarter = 0; quarter < 4; quarter++)
                        {
                            // Quarter r of the half: quants 32r..32r+31, scales of groups 8·half + 2r and + 1.
                            Vector256<byte> ql = (quarter & 1) == 0 ? qlA : qlB;
                            Vector256<byte> low = quarter < 2 ? ql & nibble : Vector256.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & nibble;
                            Vector256<byte> high = Vector256.ShiftLeft((Vector256.ShiftRightLogical(qh, 2 * quarter).AsByte() & three).AsUInt16(), 4).AsByte();
                            int g = 8 * half + 2 * quarter;
                            Vector256<short> s = Vector256.Create(Vector128.Create((short)scales[g]), Vector128.Create((short)scales[g + 1]));
                            dot += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(low | high, Vector256.Load(a + 128 * half + 32 * quarter)), s);
                        }
                    }
                    Vector256<int> offset = Avx2.MultiplyAddAdjacent(Vector256.Load(x.Sums + (long)c * sumsPerRow + b * 16), sc);
                    dot -= Vector256.ShiftLeft(offset, 5);
                    acc[c - c0] = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(dot),
                        Vector256.Create(d * x.Scale[(long)c * blocks + b]), acc[c - c0]);
                }
            }
            for (int c = c0; c < c1; c++) y[(long)c * ldy] = Vector256.Sum(acc[c - c0]);
        }
    }
}
