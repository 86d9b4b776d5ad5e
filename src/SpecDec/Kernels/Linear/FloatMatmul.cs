using SpecDec.Formats;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Matmul rows for F32, F16 and BF16 weights. Each weight row is read from memory once: f32 rows are used in
/// place, f16/bf16 rows are converted into the thread's L1 scratch; then the row is dotted with all T
/// activation rows, four at a time so each weight vector load feeds four FMAs.
/// </summary>
internal static unsafe class FloatMatmul
{
    /// <summary>Y[t, n] for rows n in [row0, row1) of <paramref name="w"/> and every t.</summary>
    public static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, float* scratch, SimdLevel level)
    {
        for (int n = row0; n < row1; n++)
        {
            float* row;
            if (w.Type == GgmlType.F32) row = (float*)w.Row(n);
            else
            {
                Dequantize.Row(w.Type, w.Row(n), scratch, w.Columns, level);
                row = scratch;
            }
            switch (level)
            {
                case SimdLevel.V512: Dot<Float512>(row, x.F32, x.K, x.T, y + n, w.Rows); break;
                case SimdLevel.V256: Dot<Float256>(row, x.F32, x.K, x.T, y + n, w.Rows); break;
                default: DotScalar(row, x.F32, x.K, x.T, y + n, w.Rows); break;
            }
        }
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
            // Two accumulators halve the FMA dependency chain of a lone dot product.
            TVec a0 = TVec.Zero, a1 = TVec.Zero;
            int i = 0;
            for (; i + 2 * width <= kv; i += 2 * width)
            {
                a0 = TVec.MulAdd(TVec.Load(w + i), TVec.Load(xc + i), a0);
                a1 = TVec.MulAdd(TVec.Load(w + i + width), TVec.Load(xc + i + width), a1);
            }
            if (i < kv) a0 = TVec.MulAdd(TVec.Load(w + i), TVec.Load(xc + i), a0);
            float s = TVec.Sum(a0) + TVec.Sum(a1);
            for (i = kv; i < k; i++) s += w[i] * xc[i];
            y[(long)c * ldy] = s;
        }
    }
}
