using System.Runtime.InteropServices;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q6_K: super-blocks of 256 values in 210 bytes: 128 bytes ql (low 4 bits of each quant), 64 bytes qh
/// (high 2 bits), 16 int8 scales (one per 16 values), fp16 d; x = d·scale·(q − 32) with q in 0..63.
/// Each half of 128 values uses 64 ql and 32 qh bytes: for l &lt; 32, element l is ql[l] low nibble, l+32 is
/// ql[l+32] low, l+64 is ql[l] high, l+96 is ql[l+32] high; their high bits are qh[l] bits 0–1, 2–3, 4–5, 6–7.
/// Quantization follows ggml's quantize_row_q6_K_ref (per-16 scale search, scales quantized to int8
/// against the largest, whose own scale becomes −128).
/// </summary>
public static class BlockQ6_K
{
    public const int Size = 256;
    public const int Bytes = 210;

    /// <summary>Offsets inside a super-block.</summary>
    public const int QlOffset = 0, QhOffset = 128, ScalesOffset = 192, DOffset = 208;

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "Q6_K");
        Span<byte> levels = stackalloc byte[Size];
        Span<float> scales = stackalloc float[16];
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float maxScale = 0, maxAbsScale = 0;
            for (int g = 0; g < 16; g++)
            {
                scales[g] = KQuantSearch.SymmetricScale(x.Slice(16 * g, 16), 32, levels.Slice(16 * g, 16));
                if (MathF.Abs(scales[g]) > maxAbsScale)
                {
                    maxAbsScale = MathF.Abs(scales[g]);
                    maxScale = scales[g];
                }
            }
            block.Clear();
            if (maxAbsScale < 1e-15f) continue;

            float iscale = -128f / maxScale;
            Half d = (Half)(1 / iscale);
            MemoryMarshal.Write(block.Slice(DOffset), d);
            Span<sbyte> sc = MemoryMarshal.Cast<byte, sbyte>(block.Slice(ScalesOffset, 16));
            for (int g = 0; g < 16; g++) sc[g] = (sbyte)Math.Clamp(QuantFormat.NearestInt(iscale * scales[g]), -128, 127);

            // Re-pick each quant against the scales as stored.
            for (int g = 0; g < 16; g++)
            {
                float dg = (float)d * sc[g];
                if (dg == 0) continue;
                for (int i = 0; i < 16; i++)
                    levels[16 * g + i] = (byte)(Math.Clamp(QuantFormat.NearestInt(x[16 * g + i] / dg), -32, 31) + 32);
            }
            for (int half = 0; half < 2; half++)
            {
                Span<byte> ql = block.Slice(QlOffset + 64 * half, 64);
                Span<byte> qh = block.Slice(QhOffset + 32 * half, 32);
                ReadOnlySpan<byte> q = levels.Slice(128 * half, 128);
                for (int l = 0; l < 32; l++)
                {
                    ql[l] = (byte)((q[l] & 0xF) | (q[l + 64] & 0xF) << 4);
                    ql[l + 32] = (byte)((q[l + 32] & 0xF) | (q[l + 96] & 0xF) << 4);
                    qh[l] = (byte)(q[l] >> 4 | q[l + 32] >> 4 << 2 | q[l + 64] >> 4 << 4 | q[l + 96] >> 4 << 6);
                }
            }
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "Q6_K");
        for (int b = 0; b < dst.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * Bytes, Bytes);
            float d = (float)MemoryMarshal.Read<Half>(block.Slice(DOffset));
            ReadOnlySpan<sbyte> sc = MemoryMarshal.Cast<byte, sbyte>(block.Slice(ScalesOffset, 16));
            Span<float> y = dst.Slice(b * Size, Size);
            for (int i = 0; i < Size; i++) y[i] = d * sc[i / 16] * (Quant(block, i) - 32);
        }
    }

    /// <summary>The 6-bit quant (0..63) of element i (0..255) of a super-block.</summary>
    public static int Quant(ReadOnlySpan<byte> block, int i)
    {
        int half = i / 128, l = i % 32, quarter = i % 128 / 32;
        byte ql = block[QlOffset + 64 * half + l + (quarter & 1) * 32];
        int low = quarter < 2 ? ql & 0xF : ql >> 4;
        int high = (block[QhOffset + 32 * half + l] >> (2 * quarter)) & 3;
        return low | high << 4;
    }
}
