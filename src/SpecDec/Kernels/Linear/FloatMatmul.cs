using System.Runtime.CompilerServices;
using SpecDec.Tensors;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Matmul rows for F32, F16 and BF16 weights. Weight rows go in fours, each read from memory once and converted in
/// registers as it is read (<see cref="IWeightRowReader{TVec}"/>); every converted vector is applied there to up to
/// 6 activation rows (2 with AVX2), and more activation rows go in further passes over the four rows, which are
/// then in cache. F16 rows are read as raw bits against activations scaled by 2^112 (<see cref="HalfBits"/>).
/// Each output is one FMA chain over the columns, summed, plus the scalar tail, whatever the pass, so a row's
/// bits do not depend on T. (Converting each row into scratch once and applying it in 2 × 4 register tiles, as
/// this kernel did for T ≥ 2, measured slower at every T: 1B-shape BF16 forwards T = 5 224 against 147 ms, T = 16
/// 427 against 244 ms, T = 64 1389 against 843 ms; the tiles read each row back from scratch once per 4
/// activation rows, and the activation rows from L2.)
/// </summary>
internal static unsafe class FloatMatmul
{
    /// <summary>Y[t, n] for rows n in [row0, row1) of <paramref name="w"/> and every t.</summary>
    /// <param name="scratch">Columns floats of this thread's scratch, where the scalar path converts a row.</param>
    public static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, float* scratch, SimdLevel level)
    {
        if (level == SimdLevel.Scalar)
        {
            for (int n = row0; n < row1; n++)
            {
                float* row = (float*)w.Row(n);
                if (w.Type != GgmlType.F32)
                {
                    Dequantize.Row(w.Type, w.Row(n), scratch, w.Columns, level);
                    row = scratch;
                }
                DotScalar(row, x.F32, x.K, x.T, y + n, w.Rows);
            }
            return;
        }
        // F16 weights as raw bits against the scaled activations: the same bits as converting them (HalfBits).
        bool bits = w.Type == GgmlType.F16 && w.FiniteHalves && x.F32Scaled != null;
        switch (w.Type, level)
        {
            case (GgmlType.F32, SimdLevel.V512): Streamed<Float512, F32Reader512>(w, x.F32, x.K, x.T, y, row0, row1); return;
            case (GgmlType.F16, SimdLevel.V512) when bits: Streamed<Float512, F16BitsReader512>(w, x.F32Scaled, x.K, x.T, y, row0, row1); return;
            case (GgmlType.F16, SimdLevel.V512): Streamed<Float512, F16Reader512>(w, x.F32, x.K, x.T, y, row0, row1); return;
            case (GgmlType.BF16, SimdLevel.V512): Streamed<Float512, BF16Reader512>(w, x.F32, x.K, x.T, y, row0, row1); return;
            case (GgmlType.F32, _): Streamed<Float256, F32Reader256>(w, x.F32, x.K, x.T, y, row0, row1); return;
            case (GgmlType.F16, _) when bits: Streamed<Float256, F16BitsReader256>(w, x.F32Scaled, x.K, x.T, y, row0, row1); return;
            case (GgmlType.F16, _): Streamed<Float256, F16Reader256>(w, x.F32, x.K, x.T, y, row0, row1); return;
            case (GgmlType.BF16, _): Streamed<Float256, BF16Reader256>(w, x.F32, x.K, x.T, y, row0, row1); return;
            default: throw new NotSupportedException($"{w.Type} is not a float weight type");
        }
    }

    /// <summary>Most activation rows <see cref="Streamed{TVec, TRow}"/> takes: 4 × 6 accumulators and the 4 weight vectors fill the 32 registers AVX-512 names, 4 × 2 the 16 of AVX2.</summary>
    static int MaxStreamedRows<TVec>() where TVec : unmanaged, IFloatVector<TVec> => TVec.Width == 16 ? 6 : 2;

    /// <summary>
    /// Rows [row0, row1) in fours (a short last group repeats its first row) against activation rows x[0..t) of k floats,
    /// weights converted in registers as they are read and applied to every activation row there: one accumulator
    /// per output, then the scalar tail. More than <see cref="MaxStreamedRows{TVec}"/> activation rows go in passes
    /// over the group, as even as possible, whose rows are then in cache.
    /// </summary>
    static void Streamed<TVec, TRow>(in LinearWeight w, float* x, int k, int t, float* y, int row0, int row1)
        where TVec : unmanaged, IFloatVector<TVec> where TRow : IWeightRowReader<TVec>
    {
        int max = MaxStreamedRows<TVec>(), passes = (t + max - 1) / max;
        for (int n = row0; n < row1; n += 4)
        {
            int count = Math.Min(4, row1 - n);
            byte* r0 = w.Row(n), r1 = count > 1 ? w.Row(n + 1) : r0, r2 = count > 2 ? w.Row(n + 2) : r0, r3 = count > 3 ? w.Row(n + 3) : r0;
            Prefetch.Range(r0, count * w.RowBytes);
            for (int p = 0, c = 0; p < passes; p++)
            {
                int rows = t / passes + (p < t % passes ? 1 : 0);
                float* xc = x + (long)c * k, yc = y + (long)c * w.Rows + n;
                switch (rows)
                {
                    case 1: Group<TVec, TRow, Rows1>(r0, r1, r2, r3, count, xc, k, yc, w.Rows); break;
                    case 2: Group<TVec, TRow, Rows2>(r0, r1, r2, r3, count, xc, k, yc, w.Rows); break;
                    case 3: Group<TVec, TRow, Rows3>(r0, r1, r2, r3, count, xc, k, yc, w.Rows); break;
                    case 4: Group<TVec, TRow, Rows4>(r0, r1, r2, r3, count, xc, k, yc, w.Rows); break;
                    case 5: Group<TVec, TRow, Rows5>(r0, r1, r2, r3, count, xc, k, yc, w.Rows); break;
                    default: Group<TVec, TRow, Rows6>(r0, r1, r2, r3, count, xc, k, yc, w.Rows); break;
                }
                c += rows;
            }
        }
    }

    /// <summary>Weight rows r0..r3 (the first <paramref name="count"/> stored) against activation rows x[0..TRows.Count).</summary>
    static void Group<TVec, TRow, TRows>(byte* r0, byte* r1, byte* r2, byte* r3, int count, float* x, int k, float* y, int ldy)
        where TVec : unmanaged, IFloatVector<TVec> where TRow : IWeightRowReader<TVec> where TRows : struct, IPassRows
    {
        int rows = TRows.Count, width = TVec.Width, kv = k - k % width;
        float* x0 = x, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k, x4 = x3 + k, x5 = x4 + k;
        TVec a00 = TVec.Zero, a01 = TVec.Zero, a02 = TVec.Zero, a03 = TVec.Zero, a10 = TVec.Zero, a11 = TVec.Zero, a12 = TVec.Zero, a13 = TVec.Zero;
        TVec a20 = TVec.Zero, a21 = TVec.Zero, a22 = TVec.Zero, a23 = TVec.Zero, a30 = TVec.Zero, a31 = TVec.Zero, a32 = TVec.Zero, a33 = TVec.Zero;
        TVec a40 = TVec.Zero, a41 = TVec.Zero, a42 = TVec.Zero, a43 = TVec.Zero, a50 = TVec.Zero, a51 = TVec.Zero, a52 = TVec.Zero, a53 = TVec.Zero;
        for (int i = 0; i < kv; i += width)
        {
            TVec w0 = TRow.Load(r0, i), w1 = TRow.Load(r1, i), w2 = TRow.Load(r2, i), w3 = TRow.Load(r3, i);
            Apply(w0, w1, w2, w3, TVec.Load(x0 + i), ref a00, ref a01, ref a02, ref a03);
            if (rows > 1) Apply(w0, w1, w2, w3, TVec.Load(x1 + i), ref a10, ref a11, ref a12, ref a13);
            if (rows > 2) Apply(w0, w1, w2, w3, TVec.Load(x2 + i), ref a20, ref a21, ref a22, ref a23);
            if (rows > 3) Apply(w0, w1, w2, w3, TVec.Load(x3 + i), ref a30, ref a31, ref a32, ref a33);
            if (rows > 4) Apply(w0, w1, w2, w3, TVec.Load(x4 + i), ref a40, ref a41, ref a42, ref a43);
            if (rows > 5) Apply(w0, w1, w2, w3, TVec.Load(x5 + i), ref a50, ref a51, ref a52, ref a53);
        }
        Finish<TVec, TRow>(r0, r1, r2, r3, count, x0, k, kv, a00, a01, a02, a03, y);
        if (rows > 1) Finish<TVec, TRow>(r0, r1, r2, r3, count, x1, k, kv, a10, a11, a12, a13, y + ldy);
        if (rows > 2) Finish<TVec, TRow>(r0, r1, r2, r3, count, x2, k, kv, a20, a21, a22, a23, y + 2 * ldy);
        if (rows > 3) Finish<TVec, TRow>(r0, r1, r2, r3, count, x3, k, kv, a30, a31, a32, a33, y + 3 * ldy);
        if (rows > 4) Finish<TVec, TRow>(r0, r1, r2, r3, count, x4, k, kv, a40, a41, a42, a43, y + 4 * ldy);
        if (rows > 5) Finish<TVec, TRow>(r0, r1, r2, r3, count, x5, k, kv, a50, a51, a52, a53, y + 5 * ldy);
    }

    /// <summary>a_j += w_j · v for the four weight rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Apply<TVec>(TVec w0, TVec w1, TVec w2, TVec w3, TVec v, ref TVec a0, ref TVec a1, ref TVec a2, ref TVec a3)
        where TVec : unmanaged, IFloatVector<TVec>
    {
        a0 = TVec.MulAdd(w0, v, a0);
        a1 = TVec.MulAdd(w1, v, a1);
        a2 = TVec.MulAdd(w2, v, a2);
        a3 = TVec.MulAdd(w3, v, a3);
    }

    /// <summary>y[j] = Σ a_j + the scalar tail of weight row j against x, for the <paramref name="count"/> stored rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Finish<TVec, TRow>(byte* r0, byte* r1, byte* r2, byte* r3, int count, float* x, int k, int kv, TVec a0, TVec a1, TVec a2, TVec a3, float* y)
        where TVec : unmanaged, IFloatVector<TVec> where TRow : IWeightRowReader<TVec>
    {
        float s0 = TVec.Sum(a0), s1 = TVec.Sum(a1), s2 = TVec.Sum(a2), s3 = TVec.Sum(a3);
        for (int i = kv; i < k; i++)
        {
            s0 += TRow.At(r0, i) * x[i];
            s1 += TRow.At(r1, i) * x[i];
            s2 += TRow.At(r2, i) * x[i];
            s3 += TRow.At(r3, i) * x[i];
        }
        y[0] = s0;
        if (count > 1) y[1] = s1;
        if (count > 2) y[2] = s2;
        if (count > 3) y[3] = s3;
    }

    /// <summary>y[c·ldy] = w · x[c] for c in [0, cols); x rows of k floats: the scalar reference.</summary>
    static void DotScalar(float* w, float* x, int k, int cols, float* y, int ldy)
    {
        for (int c = 0; c < cols; c++)
        {
            float* xc = x + (long)c * k;
            float sum = 0;
            for (int i = 0; i < k; i++) sum += w[i] * xc[i];
            y[(long)c * ldy] = sum;
        }
    }
}
