namespace SpecDec.Tensors;

/// <summary>
/// Block geometry of each <see cref="GgmlType"/>: a row of n elements takes n / BlockSize blocks of
/// BlockBytes bytes. Values from ggml.c's type_traits table.
/// </summary>
public static class GgmlTypeInfo
{
    public static bool IsKnown(GgmlType type) => TryGetLayout(type, out _, out _);

    /// <summary>Elements per block and bytes per block; false for ids this build does not know.</summary>
    public static bool TryGetLayout(GgmlType type, out int blockSize, out int blockBytes)
    {
        (blockSize, blockBytes) = type switch
        {
            GgmlType.F32 => (1, 4),
            GgmlType.F16 => (1, 2),
            GgmlType.BF16 => (1, 2),
            GgmlType.F64 => (1, 8),
            GgmlType.I8 => (1, 1),
            GgmlType.I16 => (1, 2),
            GgmlType.I32 => (1, 4),
            GgmlType.I64 => (1, 8),
            GgmlType.Q4_0 => (32, 18),
            GgmlType.Q4_1 => (32, 20),
            GgmlType.Q5_0 => (32, 22),
            GgmlType.Q5_1 => (32, 24),
            GgmlType.Q8_0 => (32, 34),
            GgmlType.Q8_1 => (32, 36),
            GgmlType.Q2_K => (256, 84),
            GgmlType.Q3_K => (256, 110),
            GgmlType.Q4_K => (256, 144),
            GgmlType.Q5_K => (256, 176),
            GgmlType.Q6_K => (256, 210),
            GgmlType.Q8_K => (256, 292),
            GgmlType.IQ4_NL => (32, 18),
            GgmlType.IQ4_XS => (256, 136),
            GgmlType.MXFP4 => (32, 17),
            // Layouts only (so files using them parse and are refused by name); no kernels.
            GgmlType.IQ2_XXS => (256, 66),
            GgmlType.IQ2_XS => (256, 74),
            GgmlType.IQ2_S => (256, 82),
            GgmlType.IQ3_XXS => (256, 98),
            GgmlType.IQ3_S => (256, 110),
            GgmlType.IQ1_S => (256, 50),
            GgmlType.IQ1_M => (256, 56),
            GgmlType.TQ1_0 => (256, 54),
            GgmlType.TQ2_0 => (256, 66),
            _ => (0, 0),
        };
        return blockSize != 0;
    }

    public static int BlockSize(GgmlType type) =>
        TryGetLayout(type, out int size, out _) ? size : throw new ArgumentOutOfRangeException(nameof(type), type, "unknown ggml type");

    /// <summary>Bytes taken by <paramref name="elements"/> elements (a multiple of the block size).</summary>
    public static long ByteCount(GgmlType type, long elements)
    {
        if (!TryGetLayout(type, out int blockSize, out int blockBytes))
            throw new ArgumentOutOfRangeException(nameof(type), type, "unknown ggml type");
        if (elements % blockSize != 0)
            throw new ArgumentException($"{elements} elements are not a whole number of {type} blocks of {blockSize}");
        return elements / blockSize * blockBytes;
    }
}
