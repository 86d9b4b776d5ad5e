using SpecDec.Tensors;

using System.Runtime.Intrinsics.X86;

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

    /// <summary>Every activation row against one group: the reference the VNNI path gives the same bits as.</summary>
    static abstract void GroupScalar(byte* group, int blocks, in Activations x, float* y, int ldy, int valid);

    /// <summary>Most activation rows one <see cref="Pass{TRows}"/> takes (at most 8).</summary>
    static abstract int MaxPassRows { get; }

    /// <summary>
    /// Activation rows c .. c + TRows.Count − 1 (1 to <see cref="MaxPassRows"/>) against the groups of outputs
    /// [row0, row1) of the packed weight at <paramref name="packed"/>, each block read once for all the rows. The loop over
    /// groups is inside, so a single-token step pays one call per work item, not one per group of 8 outputs.
    /// </summary>
    static abstract void Pass<TRows>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy) where TRows : struct, IPassRows;
}

/// <summary>Outputs [row0, row1) of a packed weight: group by group, the activation rows in passes of up to the kernel's <see cref="IPackedGroupKernel.MaxPassRows"/>.</summary>
internal static unsafe class PackedGroups
{
    /// <summary>Whether packed layouts run on this CPU at <paramref name="level"/>: they need AVX-VNNI.</summary>
    public static bool Supported(SimdLevel level) => level != SimdLevel.Scalar && AvxVnni.IsSupported;

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
    public static void Rows<TKernel>(in LinearWeight w, in Activations x, float* y, int row0, int row1, SimdLevel level)
        where TKernel : struct, IPackedGroupKernel
    {
        const int groupRows = Q8_0Packed.GroupRows;
        int blocks = w.Columns / TKernel.BlockColumns;
        if (level == SimdLevel.Scalar || !AvxVnni.IsSupported)
        {
            for (int n = row0; n < row1; n += groupRows)
                TKernel.GroupScalar(w.Packed + (long)(n / groupRows) * blocks * TKernel.GroupBlockBytes, blocks, x, y + n, w.Rows,
                    Math.Min(groupRows, row1 - n));
            return;
        }
        // Up to MaxPassRows rows go in one pass (a short second pass, e.g. 4 + 1, costs nearly a full one). More rows go
        // in as few passes as MaxPassRows allows, lengths as even as possible (Q8_0, T = 12: 6 + 6). Several passes run
        // group by group, so a group's blocks are still in L1 for the next pass.
        if (x.T <= TKernel.MaxPassRows)
        {
            Pass<TKernel>(x.T, w.Packed, blocks, row0, row1, x, 0, y, w.Rows);
            return;
        }
        int passes = (x.T + TKernel.MaxPassRows - 1) / TKernel.MaxPassRows;
        for (int n = row0; n < row1; n += groupRows)
        {
            int end = Math.Min(n + groupRows, row1);
            for (int p = 0, c = 0; p < passes; p++)
            {
                int rows = x.T / passes + (p < x.T % passes ? 1 : 0);
                Pass<TKernel>(rows, w.Packed, blocks, n, end, x, c, y, w.Rows);
                c += rows;
            }
        }
    }

    static void Pass<TKernel>(int rows, byte* w, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
        where TKernel : struct, IPackedGroupKernel
    {
        switch (rows)
        {
            case 1: TKernel.Pass<Rows1>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 2: TKernel.Pass<Rows2>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 3: TKernel.Pass<Rows3>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 4: TKernel.Pass<Rows4>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 5: TKernel.Pass<Rows5>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 6: TKernel.Pass<Rows6>(w, blocks, row0, row1, x, c, y, ldy); break;
            case 7: TKernel.Pass<Rows7>(w, blocks, row0, row1, x, c, y, ldy); break;
            default: TKernel.Pass<Rows8>(w, blocks, row0, row1, x, c, y, ldy); break;
        }
    }
}
