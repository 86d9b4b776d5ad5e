using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// Dot products of weight rows in a K-quant format (<see cref="ISuperBlock"/>: Q2_K, Q3_K, Q5_K, IQ4_XS) with
/// Q8_K activation rows, as llama.cpp's ggml_vec_dot_*_q8_K: per super-block the int32 Σ_g s_g·(v·a over g)
/// and Σ_g m_g·sum_g, then y += d_a·D·Σ − d_a·DMin·mins. Unsigned integers multiply the activations in
/// vpmaddubsw directly; signed ones as |v| times sign(v)·a. The AVX-512 path unpacks each super-block into
/// registers once for every activation row (<see cref="KQuantRows"/> picks register or stack accumulators,
/// both through <see cref="Step"/>, so a row's bits do not depend on T); the AVX2 path unpacks with the
/// scalar reference into a buffer.
/// </summary>
internal readonly unsafe struct SuperBlockDot<TBlock> : IKQuantRowKernel where TBlock : ISuperBlock
{
    const int Size = 256, Groups = 16, RowChunk = 16;

    public static void Rows(byte* w, long rowBytes, int row0, int row1, in Int8Rows x, float* y, int ldy, SimdLevel level) =>
        KQuantRows.Run<SuperBlockDot<TBlock>>(w, rowBytes, row0, row1, x, y, ldy, level);

    public static void RowScalar(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / Size;
        sbyte* v = stackalloc sbyte[Size];
        short* scales = stackalloc short[Groups];
        short* mins = stackalloc short[Groups];
        for (int c = 0; c < x.T; c++)
        {
            sbyte* a = x.Q + (long)c * x.K;
            short* sums = x.Sums + (long)c * (x.K / ActivationQ8K.SumGroup);
            float total = 0;
            for (int b = 0; b < blocks; b++)
            {
                TBlock.Ints(row + b * TBlock.Bytes, v, scales, mins, out float d, out float dmin);
                int dot = 0, offsets = 0;
                for (int g = 0; g < Groups; g++)
                {
                    int sub = 0;
                    for (int i = 16 * g; i < 16 * g + 16; i++) sub += v[i] * a[b * Size + i];
                    dot += scales[g] * sub;
                    if (TBlock.HasMins) offsets += mins[g] * sums[b * Groups + g];
                }
                float da = x.Scale[(long)c * blocks + b];
                total += da * (d * dot - dmin * offsets);
            }
            y[(long)c * ldy] = total;
        }
    }

    /// <summary>A super-block with its scales spread over the int16 lanes that vpmaddubsw leaves (8 per group).</summary>
    struct Spread
    {
        public SuperBlock U;
        public Vector512<short> S0, S1, S2, S3;
        public Vector512<sbyte> N0, N1, N2, N3; // where v < 0 (signed formats)
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Load(byte* block, out Spread s)
    {
        TBlock.Unpack(block, out s.U);
        Vector512<short> sc = s.U.Scales.ToVector512Unsafe();
        s.S0 = Avx512BW.PermuteVar32x16(sc, Pick(0));
        s.S1 = Avx512BW.PermuteVar32x16(sc, Pick(1));
        s.S2 = Avx512BW.PermuteVar32x16(sc, Pick(2));
        s.S3 = Avx512BW.PermuteVar32x16(sc, Pick(3));
        if (TBlock.Signed)
        {
            s.N0 = Vector512.LessThan(s.U.Q0, Vector512<sbyte>.Zero);
            s.N1 = Vector512.LessThan(s.U.Q1, Vector512<sbyte>.Zero);
            s.N2 = Vector512.LessThan(s.U.Q2, Vector512<sbyte>.Zero);
            s.N3 = Vector512.LessThan(s.U.Q3, Vector512<sbyte>.Zero);
            s.U.Q0 = Vector512.Abs(s.U.Q0);
            s.U.Q1 = Vector512.Abs(s.U.Q1);
            s.U.Q2 = Vector512.Abs(s.U.Q2);
            s.U.Q3 = Vector512.Abs(s.U.Q3);
        }
        else s.N0 = s.N1 = s.N2 = s.N3 = default;
    }

    /// <summary>vpermw indices for 64 values c: int16 lane p covers values 2p, 2p + 1, group 4c + p/8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<short> Pick(int c) => Vector512.Create(
        Vector256.Create(Vector128.Create((short)(4 * c)), Vector128.Create((short)(4 * c + 1))),
        Vector256.Create(Vector128.Create((short)(4 * c + 2)), Vector128.Create((short)(4 * c + 3))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<int> Part(Vector512<sbyte> q, Vector512<sbyte> negative, sbyte* a, Vector512<short> scales)
    {
        Vector512<sbyte> xs = Vector512.Load(a);
        if (TBlock.Signed) xs = Vector512.ConditionalSelect(negative, Vector512<sbyte>.Zero - xs, xs);
        // |v| ≤ 127 and |a| ≤ 127: the int16 pair sums cannot saturate.
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q.AsByte(), xs), scales);
    }

    /// <summary>One super-block against one activation row (quants a, per-16 sums, scale da): every path's step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Step(in Spread s, sbyte* a, short* sums, float da, ref Vector512<float> acc, ref Vector256<float> accMin)
    {
        Vector512<int> dot = Part(s.U.Q0, s.N0, a, s.S0) + Part(s.U.Q1, s.N1, a + 64, s.S1)
                           + Part(s.U.Q2, s.N2, a + 128, s.S2) + Part(s.U.Q3, s.N3, a + 192, s.S3);
        acc = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot), Vector512.Create(s.U.D * da), acc);
        if (TBlock.HasMins)
        {
            Vector256<int> minDot = Avx2.MultiplyAddAdjacent(Vector256.Load(sums), s.U.Mins);
            accMin = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(minDot), Vector256.Create(-s.U.DMin * da), accMin);
        }
    }

    public static void RowGroupAvx512(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int count = x.T;
        int blocks = x.K / Size;
        int sumsPerRow = x.K / ActivationQ8K.SumGroup;
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector256<float> min0 = default, min1 = default, min2 = default, min3 = default;
        sbyte* a = x.Q;
        short* sums = x.Sums;
        float* da = x.Scale;
        for (int b = 0; b < blocks; b++)
        {
            Load(row + b * TBlock.Bytes, out Spread s);
            int o = b * Size;
            Step(s, a + o, sums + b * Groups, da[b], ref acc0, ref min0);
            if (count > 1) Step(s, a + x.K + o, sums + sumsPerRow + b * Groups, da[blocks + b], ref acc1, ref min1);
            if (count > 2) Step(s, a + 2 * x.K + o, sums + 2 * sumsPerRow + b * Groups, da[2 * blocks + b], ref acc2, ref min2);
            if (count > 3) Step(s, a + 3 * x.K + o, sums + 3 * sumsPerRow + b * Groups, da[3 * blocks + b], ref acc3, ref min3);
        }
        y[0] = Vector512.Sum(acc0) + Vector256.Sum(min0);
        if (count > 1) y[ldy] = Vector512.Sum(acc1) + Vector256.Sum(min1);
        if (count > 2) y[2 * ldy] = Vector512.Sum(acc2) + Vector256.Sum(min2);
        if (count > 3) y[3 * ldy] = Vector512.Sum(acc3) + Vector256.Sum(min3);
    }

    public static void RowAvx512(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / Size;
        int sumsPerRow = x.K / ActivationQ8K.SumGroup;
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
                Load(row + b * TBlock.Bytes, out Spread s);
                for (int c = c0; c < c1; c++)
                    Step(s, x.Q + (long)c * x.K + b * Size, x.Sums + (long)c * sumsPerRow + b * Groups,
                        x.Scale[(long)c * blocks + b], ref accs[c - c0], ref mins[c - c0]);
            }
            for (int c = c0; c < c1; c++) y[(long)c * ldy] = Vector512.Sum(accs[c - c0]) + Vector256.Sum(mins[c - c0]);
        }
    }

    public static void RowAvx2(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / Size;
        int sumsPerRow = x.K / ActivationQ8K.SumGroup;
        Vector256<float>* acc = stackalloc Vector256<float>[RowChunk];
        sbyte* v = stackalloc sbyte[Size];
        short* scales = stackalloc short[Groups];
        short* mins = stackalloc short[Groups];
        Vector256<short>* spread = stackalloc Vector256<short>[Groups / 2]; // [s_2h ×8, s_2h+1 ×8] per 32 values h
        for (int c0 = 0; c0 < x.T; c0 += RowChunk)
        {
            int c1 = Math.Min(x.T, c0 + RowChunk);
            for (int c = c0; c < c1; c++) acc[c - c0] = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                TBlock.Ints(row + b * TBlock.Bytes, v, scales, mins, out float d, out float dmin);
                for (int h = 0; h < Groups / 2; h++)
                    spread[h] = Vector256.Create(Vector128.Create(scales[2 * h]), Vector128.Create(scales[2 * h + 1]));
                Vector256<short> m = TBlock.HasMins ? Vector256.Load(mins) : default;
                for (int c = c0; c < c1; c++)
                {
                    sbyte* a = x.Q + (long)c * x.K + b * Size;
                    Vector256<int> dot = Vector256<int>.Zero;
                    for (int h = 0; h < Groups / 2; h++)
                    {
                        Vector256<sbyte> w = Vector256.Load(v + 32 * h), xs = Vector256.Load(a + 32 * h);
                        if (TBlock.Signed)
                        {
                            xs = Avx2.Sign(xs, w);
                            w = Avx2.Abs(w).AsSByte();
                        }
                        dot += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w.AsByte(), xs), spread[h]);
                    }
                    float da = x.Scale[(long)c * blocks + b];
                    Vector256<float> sum = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Create(d * da), acc[c - c0]);
                    if (TBlock.HasMins)
                    {
                        Vector256<int> minDot = Avx2.MultiplyAddAdjacent(Vector256.Load(x.Sums + (long)c * sumsPerRow + b * Groups), m);
                        sum = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(minDot), Vector256.Create(-dmin * da), sum);
                    }
                    acc[c - c0] = sum;
                }
            }
            for (int c = c0; c < c1; c++) y[(long)c * ldy] = Vector256.Sum(acc[c - c0]);
        }
    }
}
