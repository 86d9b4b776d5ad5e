using System.Runtime.CompilerServices;

namespace SpecDec.Kernels.Quant;

/// <summary>Argument checks and rounding shared by the block formats' reference quantizers.</summary>
internal static class QuantFormat
{
    public static void CheckQuantize(int elements, int destinationBytes, int blockSize, int blockBytes, string type)
    {
        if (elements % blockSize != 0)
            throw new ArgumentException($"{type}: {elements} values are not a whole number of blocks of {blockSize}");
        if (destinationBytes < elements / blockSize * blockBytes)
            throw new ArgumentException($"{type}: destination of {destinationBytes} bytes is too small for {elements / blockSize} blocks of {blockBytes}");
    }

    public static void CheckDequantize(int sourceBytes, int elements, int blockSize, int blockBytes, string type)
    {
        if (elements % blockSize != 0)
            throw new ArgumentException($"{type}: {elements} values are not a whole number of blocks of {blockSize}");
        if (sourceBytes < elements / blockSize * blockBytes)
            throw new ArgumentException($"{type}: source of {sourceBytes} bytes is too small for {elements / blockSize} blocks of {blockBytes}");
    }

    /// <summary>The fp16 value stored (little-endian) at p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float HalfAt(byte* p) => (float)BitConverter.UInt16BitsToHalf(*(ushort*)p);

    /// <summary>Round half to even, as ggml's nearest_int (the 1.5·2^23 trick) does.</summary>
    public static int NearestInt(float x) => (int)MathF.Round(x, MidpointRounding.ToEven);
}
