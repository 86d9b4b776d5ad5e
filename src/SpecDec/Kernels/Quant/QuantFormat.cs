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

    /// <summary>
    /// The fp16 value stored (little-endian) at p, exactly as (float)Half gives it. Inlined bit arithmetic:
    /// the framework's conversion is a call, and a call inside a kernel loop makes the JIT spill every vector
    /// register. Subnormal halves (Q6_K scales often are) are built as (2^-14 + m·2^-24) − 2^-14 in normal
    /// floats, so no denormal arithmetic is involved.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float HalfAt(byte* p)
    {
        uint h = *(ushort*)p;
        uint em = (h & 0x7fff) << 13;
        uint sign = (h & 0x8000) << 16;
        float magnitude;
        if (em < 0x0080_0000)
            magnitude = BitConverter.UInt32BitsToSingle(em + (113u << 23)) - BitConverter.UInt32BitsToSingle(113u << 23);
        else
            magnitude = BitConverter.UInt32BitsToSingle(em + (em >= 0x0F80_0000 ? 224u << 23 : 112u << 23));
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(magnitude) | sign);
    }

    /// <summary>Round half to even, as ggml's nearest_int (the 1.5·2^23 trick) does.</summary>
    public static int NearestInt(float x) => (int)MathF.Round(x, MidpointRounding.ToEven);
}
