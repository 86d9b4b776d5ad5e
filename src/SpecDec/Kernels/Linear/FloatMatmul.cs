using System.Runtime.CompilerServices;
using SpecDec.Formats;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Matmul rows for F32, F16 and BF16 weights. Each weight row is read from memory once: f32 rows are used in
/// place, f16/bf16 rows are converted into the thread's L1 scratch; then rows are dotted in pairs with all T
/// activation rows, four at a time: a 2 × 4 register tile, so six loads feed eight FMAs. For a single
/// activation row (decode) there is nothing to amortize the conversion over: rows go in fours, each
/// converted in registers as it is read (<see cref="IWeightRowReader{TVec}"/>), four FMA chains in flight;
/// F16 rows are then read as raw bits against the activation scaled by 2^112 (<see cref="HalfBits"/>).
/// Both paths sum every output in the same order, so a row's bits do not depend on T.
/// </summary>
internal static unsafe class FloatMatmul
{
    /// <summary>Y[t, n] for rows n in [row0, row1) of <paramref name="w"/> and every t.</summary>
    /// <param name="scratch">Two rows of Columns floats of this thread's scratch.</param>
    public static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, float* scratch, SimdLevel level)
    {
        // F16 weights as raw bits against the scaled activations: the same bits as converting them (HalfBits).
        bool bits = w.Type == GgmlType.F16 && w.FiniteHalves && x.F32Scaled != null && level != SimdLevel.Scalar;
        float* xf = bits ? x.F32Scaled : x.F32;
        if (x.T == 1 && level != SimdLevel.Scalar)
        {
            switch (w.Type, level)
            {
                case (GgmlType.F32, SimdLevel.V512): Streamed<Float512, F32Reader512>(w, x.F32, x.K, y, row0, row1); return;
                case (GgmlType.F16, SimdLevel.V512) when bits: Streamed<Float512, F16BitsReader512>(w, xf, x.K, y, row0, row1); return;
                case (GgmlType.F16, _) when bits: Streamed<Float256, F16BitsReader256>(w, xf, x.K, y, row0, row1); return;
                case (GgmlType.F16, SimdLevel.V512): Streamed<Float512, F16Reader512>(w, x.F32, x.K, y, row0, row1); return;
                case (GgmlType.BF16, SimdLevel.V512): Streamed<Float512, BF16Reader512>(w, x.F32, x.K, y, row0, row1); return;
                case (GgmlType.F32, _): Streamed<Float256, F32Reader256>(w, x.F32, x.K, y, row0, row1); return;
                case (GgmlType.F16, _): Streamed<Float256, F16Reader256>(w, x.F32, x.K, y, row0, row1); return;
                case (GgmlType.BF16, _): Streamed<Float256, BF16Reader256>(w, x.F32, x.K, y, row0, row1); return;
            }
        }
        int n = row0;
        // Rows in pairs: each activation load then feeds two FMAs.
        for (; n + 2 <= row1; n += 2)
        {
            float* a = RowF32(w, n, scratch, level, bits), b = RowF32(w, n + 1, scratch + w.Columns, level, bits);
            switch (level)
            {
                case SimdLevel.V512: DotPair<Float512>(a, b, xf, x.K, x.T, y + n, w.Rows); break;
                case SimdLevel.V256: DotPair<Float256>(a, b, xf, x.K, x.T, y + n, w.Rows); break;
                default:
                    DotScalar(a, x.F32, x.K, x.T, y + n, w.Rows);
                    DotScalar(b, x.F32, x.K, x.T, y + n + 1, w.Rows);
                    break;
            }
        }
        if (n < row1)
        {
            float* a = RowF32(w, n, scratch, level, bits);
            switch (level)
            {
                case SimdLevel.V512: Dot<Float512>(a, xf, x.K, x.T, y + n, w.Rows); break;
                case SimdLevel.V256: Dot<Float256>(a, xf, x.K, x.T, y + n, w.Rows); break;
                default: DotScalar(a, x.F32, x.K, x.T, y + n, w.Rows); break;
            }
        }
    }

    /// <summary>
    /// Rows [row0, row1) in fours (a short last group repeats its first row) against the single activation row x[0..k),
    /// weights converted in registers: one accumulator per output, then the scalar tail, the order
    /// <see cref="Dot{TVec}"/> and <see cref="DotPair{TVec}"/> sum in. (Used for T = 1 only: at T = 2 and 3,
    /// converting each row once into scratch measured faster than converting it again per activation row.)
    /// </summary>
    static void Streamed<TVec, TRow>(in LinearWeight w, float* x, int k, float* y, int row0, int row1)
        where TVec : unmanaged, IFloatVector<TVec> where TRow : IWeightRowReader<TVec>
    {
        int width = TVec.Width, kv = k - k % width;
        for (int n = row0; n < row1; n += 4)
        {
            int count = Math.Min(4, row1 - n);
            byte* r0 = w.Row(n), r1 = count > 1 ? w.Row(n + 1) : r0, r2 = count > 2 ? w.Row(n + 2) : r0, r3 = count > 3 ? w.Row(n + 3) : r0;
            Prefetch.Range(r0, count * w.RowBytes);
            TVec a0 = TVec.Zero, a1 = TVec.Zero, a2 = TVec.Zero, a3 = TVec.Zero;
            for (int i = 0; i < kv; i += width)
            {
                TVec v = TVec.Load(x + i);
                a0 = TVec.MulAdd(TRow.Load(r0, i), v, a0);
                a1 = TVec.MulAdd(TRow.Load(r1, i), v, a1);
                a2 = TVec.MulAdd(TRow.Load(r2, i), v, a2);
                a3 = TVec.MulAdd(TRow.Load(r3, i), v, a3);
            }
            float s0 = TVec.Sum(a0), s1 = TVec.Sum(a1), s2 = TVec.Sum(a2), s3 = TVec.Sum(a3);
            for (int i = kv; i < k; i++)
            {
                s0 += TRow.At(r0, i) * x[i];
                s1 += TRow.At(r1, i) * x[i];
                s2 += TRow.At(r2, i) * x[i];
                s3 += TRow.At(r3, i) * x[i];
            }
            y[n] = s0;
            if (count > 1) y[n + 1] = s1;
            if (count > 2) y[n + 2] = s2;
            if (count > 3) y[n + 3] = s3;
        }
    }

    /// <summary>Row n as f32: in place for F32 weights, else converted into <paramref name="scratch"/> (F16 as raw <paramref name="bits"/> if asked).</summary>
    static float* RowF32(in LinearWeight w, int n, float* scratch, SimdLevel level, bool bits)
    {
        Prefetch.Range(w.Row(n), w.RowBytes);
        if (w.Type == GgmlType.F32) return (float*)w.Row(n);
        if (bits) HalfBits.Row(w.Row(n), scratch, w.Columns, level);
        else Dequantize.Row(w.Type, w.Row(n), scratch, w.Columns, level);
        return scratch;
    }

    /// <summary>
    /// y[c·ldy] = a · x[c] and y[c·ldy + 1] = b · x[c]: 2 × 4 register tiles over (rows, activation rows), then one
    /// tile as tall as the activation rows left, so every row count keeps at least two FMA chains per activation row in flight.
    /// </summary>
    static void DotPair<TVec>(float* a, float* b, float* x, int k, int cols, float* y, int ldy) where TVec : unmanaged, IFloatVector<TVec>
    {
        int c = 0;
        for (; c + 4 <= cols; c += 4) PairTile<TVec, Rows4>(a, b, x, k, c, y, ldy);
        switch (cols - c)
        {
            case 3: PairTile<TVec, Rows3>(a, b, x, k, c, y, ldy); break;
            case 2: PairTile<TVec, Rows2>(a, b, x, k, c, y, ldy); break;
            case 1: PairTile<TVec, Rows1>(a, b, x, k, c, y, ldy); break;
        }
    }

    /// <summary>
    /// Weight rows a and b against activation rows c .. c + TRows.Count − 1 (at most 4). Each output is one FMA chain
    /// over the columns, summed, plus the scalar tail: the order <see cref="Streamed{TVec, TRow}"/> uses, so a
    /// row's result does not depend on how many rows share the call.
    /// </summary>
    static void PairTile<TVec, TRows>(float* a, float* b, float* x, int k, int c, float* y, int ldy)
        where TVec : unmanaged, IFloatVector<TVec> where TRows : struct, IPassRows
    {
        int rows = TRows.Count, width = TVec.Width, kv = k - k % width;
        float* x0 = x + (long)c * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        TVec a0 = TVec.Zero, a1 = TVec.Zero, a2 = TVec.Zero, a3 = TVec.Zero;
        TVec b0 = TVec.Zero, b1 = TVec.Zero, b2 = TVec.Zero, b3 = TVec.Zero;
        for (int i = 0; i < kv; i += width)
        {
            TVec wa = TVec.Load(a + i), wb = TVec.Load(b + i);
            TVec v = TVec.Load(x0 + i);
            a0 = TVec.MulAdd(wa, v, a0);
            b0 = TVec.MulAdd(wb, v, b0);
            if (rows > 1)
            {
                v = TVec.Load(x1 + i);
                a1 = TVec.MulAdd(wa, v, a1);
                b1 = TVec.MulAdd(wb, v, b1);
            }
            if (rows > 2)
            {
                v = TVec.Load(x2 + i);
                a2 = TVec.MulAdd(wa, v, a2);
                b2 = TVec.MulAdd(wb, v, b2);
            }
            if (rows > 3)
            {
                v = TVec.Load(x3 + i);
                a3 = TVec.MulAdd(wa, v, a3);
                b3 = TVec.MulAdd(wb, v, b3);
            }
        }
        // Reduce every accumulator before anything else, so none stays live across the tails.
        float s0 = TVec.Sum(a0), s1 = TVec.Sum(a1), s2 = TVec.Sum(a2), s3 = TVec.Sum(a3);
        float t0 = TVec.Sum(b0), t1 = TVec.Sum(b1), t2 = TVec.Sum(b2), t3 = TVec.Sum(b3);
        float* yc = y + (long)c * ldy;
        Finish(a, x0, k, kv, s0, yc);
        Finish(b, x0, k, kv, t0, yc + 1);
        if (rows > 1)
        {
            Finish(a, x1, k, kv, s1, yc + ldy);
            Finish(b, x1, k, kv, t1, yc + ldy + 1);
        }
        if (rows > 2)
        {
            Finish(a, x2, k, kv, s2, yc + 2 * ldy);
            Finish(b, x2, k, kv, t2, yc + 2 * ldy + 1);
        }
        if (rows > 3)
        {
            Finish(a, x3, k, kv, s3, yc + 3 * ldy);
            Finish(b, x3, k, kv, t3, yc + 3 * ldy + 1);
        }
    }

    /// <summary>*y = sum + the scalar tail w[kv..k) · x[kv..k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Finish(float* w, float* x, int k, int kv, float sum, float* y)
    {
        for (int i = kv; i < k; i++) sum += w[i] * x[i];
        *y = sum;
    }

    /// <summary>y[c·ldy] = w · x[c] for c in [0, cols); x rows of k floats.</summary>
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

    static void Dot<TVec>(float* w, float* x, int k, int cols, float* y, int ldy) where TVec : unmanaged, IFloatVector<TVec>
    {
        int width = TVec.Width;
        int kv = k - k % width;
        int c = 0;
        for (; c + 4 <= cols; c += 4)
        {
            float* x0 = x + (long)c * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
            TVec a0 = TVec.Zero, a1 = TVec.Zero, a2 = TVec.Zero, a3 = TVec.Zero;
            for (int i = 0; i < kv; i += width)
            {
                TVec wv = TVec.Load(w + i);
                a0 = TVec.MulAdd(wv, TVec.Load(x0 + i), a0);
                a1 = TVec.MulAdd(wv, TVec.Load(x1 + i), a1);
                a2 = TVec.MulAdd(wv, TVec.Load(x2 + i), a2);
                a3 = TVec.MulAdd(wv, TVec.Load(x3 + i), a3);
            }
            float s0 = TVec.Sum(a0), s1 = TVec.Sum(a1), s2 = TVec.Sum(a2), s3 = TVec.Sum(a3);
            for (int i = kv; i < k; i++)
            {
                s0 += w[i] * x0[i];
                s1 += w[i] * x1[i];
                s2 += w[i] * x2[i];
                s3 += w[i] * x3[i];
            }
            y[(long)c * ldy] = s0;
            y[(long)(c + 1) * ldy] = s1;
            y[(long)(c + 2) * ldy] = s2;
            y[(long)(c + 3) * ldy] = s3;
        }
        for (; c < cols; c++)
        {
            float* xc = x + (long)c * k;
            // One accumulator, as in the four-row loop: a row's result must not depend on how many rows share
            // the call, or verifying k drafts would not reproduce single-token decoding bit for bit.
            TVec a0 = TVec.Zero;
            for (int i = 0; i < kv; i += width) a0 = TVec.MulAdd(TVec.Load(w + i), TVec.Load(xc + i), a0);
            float s = TVec.Sum(a0);
            for (int i = kv; i < k; i++) s += w[i] * xc[i];
            y[(long)c * ldy] = s;
        }
    }
}
