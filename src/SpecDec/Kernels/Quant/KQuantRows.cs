namespace SpecDec.Kernels.Quant;

/// <summary>
/// The row kernels of one k-quant type (Q4_K, Q6_K) against Q8_K activations, each writing
/// y[c·ldy] = W_row · X[c] for every activation row c. <see cref="KQuantRows.Run{TKernel}"/> picks among them.
/// </summary>
internal unsafe interface IKQuantRowKernel
{
    /// <summary>Up to <see cref="KQuantRows.RegisterRows"/> activation rows, accumulators in registers (AVX-512).</summary>
    static abstract void RowGroupAvx512(byte* row, in Int8Rows x, float* y, int ldy);

    /// <summary>Any number of activation rows (AVX-512).</summary>
    static abstract void RowAvx512(byte* row, in Int8Rows x, float* y, int ldy);

    static abstract void RowAvx2(byte* row, in Int8Rows x, float* y, int ldy);

    /// <summary>The reference every SIMD path is tested against.</summary>
    static abstract void RowScalar(byte* row, in Int8Rows x, float* y, int ldy);
}

/// <summary>Weight rows [row0, row1) of a k-quant matrix through the kernel that suits T and the SIMD level.</summary>
internal static unsafe class KQuantRows
{
    /// <summary>Activation rows whose accumulators fit in registers next to an unpacked super-block.</summary>
    public const int RegisterRows = 4;

    /// <summary>y[c·ldy + n] = W[n] · X[c] for weight rows n in [row0, row1) (rowBytes apart from w) and c in [0, T).</summary>
    public static void Run<TKernel>(byte* w, long rowBytes, int row0, int row1, in Int8Rows x, float* y, int ldy, SimdLevel level)
        where TKernel : IKQuantRowKernel
    {
        if (level == SimdLevel.V512 && x.T <= RegisterRows)
        {
            for (int n = row0; n < row1; n++)
            {
                byte* row = w + n * rowBytes;
                Prefetch.Range(row, rowBytes);
                TKernel.RowGroupAvx512(row, x, y + n, ldy);
            }
            return;
        }
        for (int n = row0; n < row1; n++)
        {
            byte* row = w + n * rowBytes;
            Prefetch.Range(row, rowBytes);
            switch (level)
            {
                case SimdLevel.V512: TKernel.RowAvx512(row, x, y + n, ldy); break;
                case SimdLevel.V256: TKernel.RowAvx2(row, x, y + n, ldy); break;
                default: TKernel.RowScalar(row, x, y + n, ldy); break;
            }
        }
    }
}
