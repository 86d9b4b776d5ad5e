using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// Dot products of Q4_K weight rows with Q8_K activation rows (<see cref="ActivationQ8K"/>), as llama.cpp's
/// ggml_vec_dot_q4_K_q8_K: per super-block, Σ_j sc_j·(q·a over sub-block j) in int32, and the mins term
/// Σ_j m_j·(Σ a over sub-block j) from the activations' per-16 sums; then y += d_a·(d·Σ − dmin·mins).
/// Each super-block's quants and scales are unpacked into registers once and applied to every activation
/// row: for up to four rows (decode, short verification batches) with the accumulators in registers, for
/// more with them on the stack, 16 rows per pass over the weight row.
/// </summary>
internal readonly unsafe struct Q4_KDot : IKQuantRowKernel
{
    const int RowChunk = 16;

    /// <summary>y[c·ldy + n] = W[n] · X[c] for weight rows n in [row0, row1) (rowBytes apart from w) and c in [0, T).</summary>
    public static void Rows(byte* w, long rowBytes, int row0, int row1, in Int8Rows x, float* y, int ldy, SimdLevel level) =>
        KQuantRows.Run<Q4_KDot>(w, rowBytes, row0, row1, x, y, ldy, level);

    public static void RowScalar(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ4_K.Size;
        var packed = new ReadOnlySpan<byte>(row, blocks * BlockQ4_K.Bytes);
        for (int c = 0; c < x.T; c++)
        {
            sbyte* a = x.Q + (long)c * x.K;
            float* da = x.Scale + (long)c * blocks;
            short* sums = x.Sums + (long)c * (x.K / ActivationQ8K.SumGroup);
            float total = 0;
            for (int b = 0; b < blocks; b++)
            {
                ReadOnlySpan<byte> block = packed.Slice(b * BlockQ4_K.Bytes, BlockQ4_K.Bytes);
                ReadOnlySpan<byte> qs = block.Slice(BlockQ4_K.QsOffset, 128);
                int dot = 0, mins = 0;
                for (int j = 0; j < BlockQ4_K.SubBlocks; j++)
                {
                    (int sc, int m) = BlockQ4_K.ScaleMin(block.Slice(BlockQ4_K.ScalesOffset, 12), j);
                    int shift = (j & 1) * 4, sub = 0;
                    for (int l = 0; l < 32; l++) sub += ((qs[32 * (j / 2) + l] >> shift) & 0xF) * a[b * 256 + 32 * j + l];
                    dot += sc * sub;
                    mins += m * (sums[b * 16 + 2 * j] + sums[b * 16 + 2 * j + 1]);
                }
                byte* p = row + b * BlockQ4_K.Bytes;
                total += da[b] * (QuantFormat.HalfAt(p + BlockQ4_K.DOffset) * dot - QuantFormat.HalfAt(p + BlockQ4_K.DMinOffset) * mins);
            }
            y[(long)c * ldy] = total;
        }
    }

    /// <summary>Bytes [sc0..sc7, m0..m7] from the 12 packed scale bytes (see <see cref="BlockQ4_K"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> ScalesAndMins(byte* packed)
    {
        const uint low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, low2 = 0x03030303;
        uint u0 = *(uint*)packed, u1 = *(uint*)(packed + 4), u2 = *(uint*)(packed + 8);
        return Vector128.Create(u0 & low6, (u2 & low4) | ((u0 >> 6) & low2) << 4,
                                u1 & low6, ((u2 >> 4) & low4) | ((u1 >> 6) & low2) << 4).AsByte();
    }

    /// <summary>[m0, m0, m1, m1, …, m7, m7] as int16, to pair with the activations' 16 per-16 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<short> MinsPerSum(Vector128<byte> scalesAndMins) =>
        Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(scalesAndMins, scalesAndMins));

    /// <summary>One super-block unpacked into registers: 4 × 64 quants in element order and their scales.</summary>
    struct Unpacked
    {
        public Vector512<byte> Q0, Q1, Q2, Q3;
        public Vector512<short> S0, S1, S2, S3;
        public Vector256<short> Mins;
        public float D, DMin;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Unpack(byte* block, Vector512<short> pick01, Vector512<short> pick23, Vector512<short> pick45, Vector512<short> pick67,
        out Unpacked u)
    {
        Vector512<byte> nibble = Vector512.Create((byte)0x0F);
        Vector512<byte> qs0 = Vector512.Load(block + BlockQ4_K.QsOffset);
        Vector512<byte> qs1 = Vector512.Load(block + BlockQ4_K.QsOffset + 64);
        Vector512<byte> lo0 = qs0 & nibble, hi0 = Vector512.ShiftRightLogical(qs0.AsUInt16(), 4).AsByte() & nibble;
        Vector512<byte> lo1 = qs1 & nibble, hi1 = Vector512.ShiftRightLogical(qs1.AsUInt16(), 4).AsByte() & nibble;
        // A 64-byte load holds sub-blocks [0 | 2] in its low nibbles and [1 | 3] in its high ones;
        // regroup the 128-bit lanes so each vector holds 64 consecutive quants.
        u.Q0 = Avx512F.Shuffle4x128(lo0.AsInt64(), hi0.AsInt64(), 0b01_00_01_00).AsByte();
        u.Q1 = Avx512F.Shuffle4x128(lo0.AsInt64(), hi0.AsInt64(), 0b11_10_11_10).AsByte();
        u.Q2 = Avx512F.Shuffle4x128(lo1.AsInt64(), hi1.AsInt64(), 0b01_00_01_00).AsByte();
        u.Q3 = Avx512F.Shuffle4x128(lo1.AsInt64(), hi1.AsInt64(), 0b11_10_11_10).AsByte();

        Vector128<byte> sm = ScalesAndMins(block + BlockQ4_K.ScalesOffset);
        Vector512<short> sc = Avx2.ConvertToVector256Int16(sm).ToVector512Unsafe();
        u.S0 = Avx512BW.PermuteVar32x16(sc, pick01);
        u.S1 = Avx512BW.PermuteVar32x16(sc, pick23);
        u.S2 = Avx512BW.PermuteVar32x16(sc, pick45);
        u.S3 = Avx512BW.PermuteVar32x16(sc, pick67);
        u.Mins = MinsPerSum(sm);
        u.D = QuantFormat.HalfAt(block + BlockQ4_K.DOffset);
        u.DMin = QuantFormat.HalfAt(block + BlockQ4_K.DMinOffset);
    }

    /// <summary>Σ_j sc_j·(q·a over sub-block j) as 16 int32 partial sums, for the 256 activations at a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<int> Dot(in Unpacked u, sbyte* a) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Q0, Vector512.Load(a)), u.S0)
        + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Q1, Vector512.Load(a + 64)), u.S1)
        + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Q2, Vector512.Load(a + 128)), u.S2)
        + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Q3, Vector512.Load(a + 192)), u.S3);

    /// <summary>
    /// y[c·ldy] = W_row · X[c] for the T ≤ 4 rows of X: one pass over the weight row, accumulators in registers
    /// (so consecutive super-blocks overlap instead of waiting on stores and reloads).
    /// </summary>
    public static void RowGroupAvx512(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int count = x.T;
        int blocks = x.K / BlockQ4_K.Size;
        int sumsPerRow = x.K / ActivationQ8K.SumGroup;
        // vpermw indices spreading scales j, j+1 over the 16 int16 lanes each that 64 quants produce.
        Vector512<short> pick01 = Spread(0), pick23 = Spread(2), pick45 = Spread(4), pick67 = Spread(6);
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector256<float> min0 = default, min1 = default, min2 = default, min3 = default;
        sbyte* a = x.Q;
        short* sums = x.Sums;
        float* da = x.Scale;
        for (int b = 0; b < blocks; b++)
        {
            Unpack(row + b * BlockQ4_K.Bytes, pick01, pick23, pick45, pick67, out Unpacked u);
            int o = b * BlockQ4_K.Size;
            Step(u, a + o, sums + b * 16, da[b], ref acc0, ref min0);
            if (count > 1) Step(u, a + x.K + o, sums + sumsPerRow + b * 16, da[blocks + b], ref acc1, ref min1);
            if (count > 2) Step(u, a + 2 * x.K + o, sums + 2 * sumsPerRow + b * 16, da[2 * blocks + b], ref acc2, ref min2);
            if (count > 3) Step(u, a + 3 * x.K + o, sums + 3 * sumsPerRow + b * 16, da[3 * blocks + b], ref acc3, ref min3);
        }
        y[0] = Vector512.Sum(acc0) + Vector256.Sum(min0);
        if (count > 1) y[ldy] = Vector512.Sum(acc1) + Vector256.Sum(min1);
        if (count > 2) y[2 * ldy] = Vector512.Sum(acc2) + Vector256.Sum(min2);
        if (count > 3) y[3 * ldy] = Vector512.Sum(acc3) + Vector256.Sum(min3);
    }

    /// <summary>
    /// One super-block against one activation row (quants at a, per-16 sums at sums, scale da). Both paths
    /// use it, so a row's result does not depend on how many rows share the call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Step(in Unpacked u, sbyte* a, short* sums, float da, ref Vector512<float> acc, ref Vector256<float> accMin)
    {
        acc = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Dot(u, a)), Vector512.Create(u.D * da), acc);
        Vector256<int> minDot = Avx2.MultiplyAddAdjacent(Vector256.Load(sums), u.Mins);
        accMin = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(minDot), Vector256.Create(-u.DMin * da), accMin);
    }

    /// <summary>More than four rows: accumulators on the stack for up to 16 rows per pass over the weight row.</summary>
    public static void RowAvx512(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ4_K.Size;
        int sumsPerRow = x.K / ActivationQ8K.SumGroup;
        // vpermw indices spreading scales j, j+1 over the 16 int16 lanes each that 64 quants produce.
        Vector512<short> pick01 = Spread(0), pick23 = Spread(2), pick45 = Spread(4), pick67 = Spread(6);
        // [RowChunk] each: the same accumulator pair per row as the register path, so results agree bit for bit.
        Vector512<float>* accs = stackalloc Vector512<float>[RowChunk];
        Vector256<float>* mins = stackalloc Vector256<float>[RowChunk];
        for (int c0 = 0; c0 < x.T; c0 += RowChunk)
        {
            int c1 = Math.Min(x.T, c0 + RowChunk);
            for (int c = c0; c < c1; c++)
            {
                accs[c - c0] = Vector512<float>.Zero;
                mins[c - c0] = Vector256<float>.Zero;
            }
            for (int b = 0; b < blocks; b++)
            {
                Unpack(row + b * BlockQ4_K.Bytes, pick01, pick23, pick45, pick67, out Unpacked u);
                for (int c = c0; c < c1; c++)
                    Step(u, x.Q + (long)c * x.K + b * BlockQ4_K.Size, x.Sums + (long)c * sumsPerRow + b * 16,
                        x.Scale[(long)c * blocks + b], ref accs[c - c0], ref mins[c - c0]);
            }
            for (int c = c0; c < c1; c++) y[(long)c * ldy] = Vector512.Sum(accs[c - c0]) + Vector256.Sum(mins[c - c0]);
        }
    }

    /// <summary>Lane indices [j ×16, j+1 ×16] for vpermw.</summary>
    static Vector512<short> Spread(int j) =>
        Vector256.Create((short)j).ToVector512Unsafe().WithUpper(Vector256.Create((short)(j + 1)));

    public static void RowAvx2(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ4_K.Size;
        int sumsPerRow = x.K / ActivationQ8K.SumGroup;
        Vector256<float>* acc = stackalloc Vector256<float>[RowChunk];
        Vector256<byte> nibble = Vector256.Create((byte)0x0F);
        for (int c0 = 0; c0 < x.T; c0 += RowChunk)
        {
            int c1 = Math.Min(x.T, c0 + RowChunk);
            for (int c = c0; c < c1; c++) acc[c - c0] = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = row + b * BlockQ4_K.Bytes;
                Vector128<byte> sm = ScalesAndMins(block + BlockQ4_K.ScalesOffset);
                Vector256<short> mins = MinsPerSum(sm);
                float d = QuantFormat.HalfAt(block + BlockQ4_K.DOffset), dmin = QuantFormat.HalfAt(block + BlockQ4_K.DMinOffset);
                for (int c = c0; c < c1; c++)
                {
                    sbyte* a = x.Q + (long)c * x.K + b * BlockQ4_K.Size;
                    Vector256<int> dot = Vector256<int>.Zero;
                    // Group g: 32 bytes whose low nibbles are sub-block 2g and high nibbles sub-block 2g+1.
                    for (int g = 0; g < 4; g++)
                    {
                        Vector256<byte> qs = Vector256.Load(block + BlockQ4_K.QsOffset + 32 * g);
                        Vector256<short> pLo = Avx2.MultiplyAddAdjacent(qs & nibble, Vector256.Load(a + 64 * g));
                        Vector256<short> pHi = Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(qs.AsUInt16(), 4).AsByte() & nibble,
                                                                        Vector256.Load(a + 64 * g + 32));
                        dot += Avx2.MultiplyAddAdjacent(pLo, Vector256.Create((short)sm.GetElement(2 * g)))
                             + Avx2.MultiplyAddAdjacent(pHi, Vector256.Create((short)sm.GetElement(2 * g + 1)));
                    }
                    Vector256<int> minDot = Avx2.MultiplyAddAdjacent(Vector256.Load(x.Sums + (long)c * sumsPerRow + b * 16), mins);
                    float da = x.Scale[(long)c * blocks + b];
                    Vector256<float> sum = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Create(d * da), acc[c - c0]);
                    acc[c - c0] = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(minDot), Vector256.Create(-dmin * da), sum);
                }
            }
            for (int c = c0; c < c1; c++) y[(long)c * ldy] = Vector256.Sum(acc[c - c0]);
        }
    }
}
