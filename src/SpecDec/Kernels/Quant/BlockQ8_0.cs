using System.Runtime.InteropServices;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q8_0: blocks of 32 values stored as an fp16 scale d followed by 32 int8 quants; x ≈ d · q.
/// d = max|x| / 127 per block (ggml's quantize_row_q8_0_ref). This is the scalar reference: the converter
/// writes with it and SIMD kernels are tested against it.
/// </summary>
public static class BlockQ8_0
{
    public const int Size = 32;
    public const int Bytes = 34;

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (src.Length % Size != 0) throw new ArgumentException($"length {src.Length} is not a multiple of {Size}");
        if (dst.Length < src.Length / Size * Bytes) throw new ArgumentException("destination too small");
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float amax = 0;
            foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            MemoryMarshal.Write(block, (Half)d);
            Span<sbyte> q = MemoryMarshal.Cast<byte, sbyte>(block.Slice(2));
            for (int i = 0; i < Size; i++) q[i] = (sbyte)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero);
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        if (dst.Length % Size != 0) throw new ArgumentException($"length {dst.Length} is not a multiple of {Size}");
        for (int b = 0; b < dst.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * Bytes, Bytes);
            float d = (float)MemoryMarshal.Read<Half>(block);
            ReadOnlySpan<sbyte> q = MemoryMarshal.Cast<byte, sbyte>(block.Slice(2));
            for (int i = 0; i < Size; i++) dst[b * Size + i] = d * q[i];
        }
    }
}
