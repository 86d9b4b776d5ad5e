using System.Runtime.InteropServices;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q4_0: blocks of 32 values stored as an fp16 scale d followed by 16 bytes of 4-bit quants; byte j holds
/// element j in its low nibble and element j + 16 in its high nibble; x ≈ d · (q − 8). d = m / −8 where m is
/// the value of largest magnitude, so m itself maps exactly to q = 0 (ggml's quantize_row_q4_0_ref).
/// This is the scalar reference: the quantizer writes with it and SIMD kernels are tested against it.
/// </summary>
public static class BlockQ4_0
{
    public const int Size = 32;
    public const int Bytes = 18;

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "Q4_0");
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float amax = 0, max = 0;
            foreach (float v in x)
            {
                if (MathF.Abs(v) > amax)
                {
                    amax = MathF.Abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0 ? 1f / d : 0f;
            MemoryMarshal.Write(block, (Half)d);
            for (int j = 0; j < Size / 2; j++)
            {
                // x·id lies in [−8, 8]; +8.5 and truncation round to nearest, and the clamp folds +8 into 15.
                int lo = Math.Min(15, (int)(x[j] * id + 8.5f));
                int hi = Math.Min(15, (int)(x[j + Size / 2] * id + 8.5f));
                block[2 + j] = (byte)(lo | hi << 4);
            }
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "Q4_0");
        for (int b = 0; b < dst.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * Bytes, Bytes);
            float d = (float)MemoryMarshal.Read<Half>(block);
            Span<float> y = dst.Slice(b * Size, Size);
            for (int j = 0; j < Size / 2; j++)
            {
                y[j] = d * ((block[2 + j] & 0xF) - 8);
                y[j + Size / 2] = d * ((block[2 + j] >> 4) - 8);
            }
        }
    }
}
