using SpecDec.Tensors;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// The kernels of one packed weight layout (<see cref="Q8_0Packed"/>, <see cref="Q4_KPacked"/>): groups of
/// <see cref="Q8_0Packed.GroupRows"/> interleaved rows, stored block after block along the columns.
/// </summary>
internal unsafe interface IPackedGroupKernel
{
    /// <summary>Columns one block covers.</summary>
    static abstract int BlockColumns { get; }

    /// <summary>Bytes of one block of a group.</summary>
    static abstract int GroupBlockBytes { get; }

    /// <summary>Writes the packed copy of <paramref name="w"/> (file layout) into <paramref name="dst"/>, zeroed, of <see cref="PackedGroups.ByteCount{TKernel}"/> bytes.</summary>
    static abstract void Pack(in LinearWeight w, byte* dst);

    /// <summary>Every activation row against one group: the reference every path gives the same bits as.</summary>
    static abstract void GroupScalar(byte* group, int blocks, in Activations x, float* y, int ldy, int valid);

    /// <summary>Most activation rows one <see cref="Pass{TRows}"/> takes (at most 8).</summary>
    static abstract int MaxPassRows { get; }

    /// <summary>Most activation rows one pass takes where <see cref="IInt8Dot.Wide"/> (at most 16): Q8_0's 512-bit passes go in pairs of rows.</summary>
    static virtual int MaxWidePassRows => 0;

    /// <summary>
    /// Activation rows c .. c + TRows.Count − 1 (1 to <see cref="MaxPassRows"/>, or <see cref="MaxWidePassRows"/>) against the groups of outputs
    /// [row0, row1) of the packed weight at <paramref name="packed"/>, each block read once for all the rows, with
    /// <typeparamref name="TDot"/>'s instructions. The loop over groups is inside, so a single-token step pays one call
    /// per work item, not one per group of 8 outputs.
    /// </summary>
    static abstract void Pass<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
        where TRows : struct, IPassRows where TDot : struct, IInt8Dot;
}

/// <summary>
/// Outputs [row0, row1) of a packed weight: group by group, the activation rows in passes of up to the kernel's
/// <see cref="IPackedGroupKernel.MaxPassRows"/>, on the <see cref="KernelPath"/>'s instructions (<see cref="IInt8Dot"/>).
/// A new packed type implements <see cref="IPackedGroupKernel"/> once, generic over <see cref="IInt8Dot"/>, and
/// runs on every path.
/// </summary>
internal static unsafe class PackedGroups
{
    /// <summary>Whether packed layouts run at <paramref name="level"/>: on every SIMD path, not on the scalar one.</summary>
    public static bool Supported(SimdLevel level) => level != SimdLevel.Scalar;

    /// <summary>Bytes of a packed [rows × columns] weight, the last group padded with zero rows.</summary>
    public static long ByteCount<TKernel>(int rows, int columns) where TKernel : struct, IPackedGroupKernel =>
        (long)((rows + Q8_0Packed.GroupRows - 1) / Q8_0Packed.GroupRows) * (columns / TKernel.BlockColumns) * TKernel.GroupBlockBytes;

    /// <summary>A packed copy of <paramref name="w"/>, and the weight that reads it.</summary>
    public static (LinearWeight Weight, NativeBuffer<byte> Buffer) Pack<TKernel>(in LinearWeight w) where TKernel : struct, IPackedGroupKernel
    {
        var buffer = new NativeBuffer<byte>(ByteCount<TKernel>(w.Rows, w.Columns));
        TKernel.Pack(w, buffer.Pointer);
        return (w with { Packed = buffer.Pointer }, buffer);
    }

    /// <summary>Outputs [row0, row1) of every activation row; row0 is a multiple of the group size, the last group may be ragged.</summary>
    public static void Rows<TKernel>(in LinearWeight w, in Activations x, float* y, int row0, int row1, KernelPath path)
        where TKernel : struct, IPackedGroupKernel
    {
        switch (path)
        {
            case KernelPath.AvxVnni: Rows<TKernel, VnniDot>(w, x, y, row0, row1); break;
            case KernelPath.Avx512BW: Rows<TKernel, Avx512BWDot>(w, x, y, row0, row1); break;
            case KernelPath.Avx2: Rows<TKernel, Avx2Dot>(w, x, y, row0, row1); break;
            default:
                int blocks = w.Columns / TKernel.BlockColumns;
                for (int n = row0; n < row1; n += Q8_0Packed.GroupRows)
                    TKernel.GroupScalar(w.Packed + (long)(n / Q8_0Packed.GroupRows) * blocks * TKernel.GroupBlockBytes, blocks, x, y + n,
                        w.Rows, Math.Min(Q8_0Packed.GroupRows, row1 - n));
                break;
        }
    }

    static void Rows<TKernel, TDot>(in LinearWeight w, in Activations x, float* y, int row0, int row1)
        where TKernel : struct, IPackedGroupKernel where TDot : struct, IInt8Dot
    {
        const int groupRows = Q8_0Packed.GroupRows;
        int blocks = w.Columns / TKernel.BlockColumns;
        // Up to MaxPassRows rows go in one pass (a short second pass, e.g. 4 + 1, costs nearly a full one). More rows go
        // in as few passes as MaxPassRows allows, lengths as even as possible (Q8_0, T = 12: 6 + 6). Several passes run
        // group by group, so a group's blocks are still in L1 for the next pass.
        int maxPassRows = TDot.Wide && TKernel.MaxWidePassRows > 0 ? TKernel.MaxWidePassRows : TKernel.MaxPassRows;
        if (x.T <= maxPassRows)
        {
            Pass<TKernel, TDot>(x.T, w.Packed, blocks, row0, row1, x, 0, y, w.Rows);
            return;
        }
        int passes = Passes(x.T, maxPassRows);
        for (int n = row0; n < row1; n += groupRows)
        {
            int end = Math.Min(n + groupRows, row1);
            for (int p = 0, c = 0; p < passes; p++)
            {
                int rows = PassRows(x.T, passes, p);
                Pass<TKernel, TDot>(rows, w.Packed, blocks, n, end, x, c, y, w.Rows);
                c += rows;
            }
        }
    }

    /// <summary>Passes that t activation rows take, at most <paramref name="maxPassRows"/> each.</summary>
    internal static int Passes(int t, int maxPassRows) => (t + maxPassRows - 1) / maxPassRows;

    /// <summary>Rows of pass p of <paramref name="passes"/> over t rows: as even as possible, the longer ones first.</summary>
    internal static int PassRows(int t, int passes, int p) => t / passes + (p < t % passes ? 1 : 0);

    static void Pass<TKernel, TDot>(int rows, byte* w, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
        where TKernel : struct, IPackedGroupKernel where TDot : struct, IInt8Dot
    {
        switch (rows)
        {
            case 1: TKernel.Pass<Rows1, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 2: TKernel.Pass<Rows2, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 3: TKernel.Pass<Rows3, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 4: TKernel.Pass<Rows4, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 5: TKernel.Pass<Rows5, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 6: TKernel.Pass<Rows6, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 7: TKernel.Pass<Rows7, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 8: TKernel.Pass<Rows8, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 9: TKernel.Pass<Rows9, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 10: TKernel.Pass<Rows10, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 11: TKernel.Pass<Rows11, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 12: TKernel.Pass<Rows12, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 13: TKernel.Pass<Rows13, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 14: TKernel.Pass<Rows14, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 15: TKernel.Pass<Rows15, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
            default: TKernel.Pass<Rows16, TDot>(w, blocks, row0, row1, x, c, y, ldy); break;
        }
    }
}
