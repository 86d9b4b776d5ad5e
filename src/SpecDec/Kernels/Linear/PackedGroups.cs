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

    /// <summary>Activation rows c .. c + rows − 1 (rows 1–4, a constant at every call) against one group, each block read once for all of them.</summary>
    static abstract void Pass(byte* group, int blocks, in Activations x, int c, int rows, float* y, int ldy, int valid);
}

/// <summary>Outputs [row0, row1) of a packed weight: group by group, the activation rows in passes of up to 4.</summary>
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

    /// <summary>row0 is a multiple of the group size; the last group may be ragged (<c>valid</c> rows of 8).</summary>
    public static void Rows<TKernel>(in LinearWeight w, in Activations x, float* y, int row0, int row1, SimdLevel level)
        where TKernel : struct, IPackedGroupKernel
    {
        const int groupRows = Q8_0Packed.GroupRows;
        int blocks = w.Columns / TKernel.BlockColumns;
        for (int n = row0; n < row1; n += groupRows)
        {
            byte* group = w.Packed + (long)(n / groupRows) * blocks * TKernel.GroupBlockBytes;
            int valid = Math.Min(groupRows, row1 - n);
            if (level == SimdLevel.Scalar || !AvxVnni.IsSupported)
                TKernel.GroupScalar(group, blocks, x, y + n, w.Rows, valid);
            else
                Vnni<TKernel>(group, blocks, x, y + n, w.Rows, valid);
        }
    }

    static void Vnni<TKernel>(byte* group, int blocks, in Activations x, float* y, int ldy, int valid)
        where TKernel : struct, IPackedGroupKernel
    {
        int c = 0;
        for (; c + 4 <= x.T; c += 4) TKernel.Pass(group, blocks, x, c, 4, y, ldy, valid);
        switch (x.T - c)
        {
            case 3: TKernel.Pass(group, blocks, x, c, 3, y, ldy, valid); break;
            case 2: TKernel.Pass(group, blocks, x, c, 2, y, ldy, valid); break;
            case 1: TKernel.Pass(group, blocks, x, c, 1, y, ldy, valid); break;
        }
    }
}
