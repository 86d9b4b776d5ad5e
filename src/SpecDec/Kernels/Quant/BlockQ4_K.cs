using System.Runtime.InteropServices;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q4_K: super-blocks of 256 values in 144 bytes: fp16 d, fp16 dmin, 12 bytes packing a 6-bit scale
/// sc and a 6-bit min m for each of 8 sub-blocks of 32, then 128 bytes of 4-bit quants q. Value i of
/// sub-block j is x = d·sc_j·q − dmin·m_j. Quant bytes come in 4 groups of 32: byte l of group g holds
/// sub-block 2g's element l in its low nibble and sub-block 2g+1's element l in its high nibble.
/// Scale packing (ggml's get_scale_min_k4): for j &lt; 4, sc_j and m_j are the low 6 bits of bytes j and
/// j+4; for j ≥ 4, byte j+4 holds the low 4 bits of sc_j (low nibble) and m_j (high nibble), and their top
/// 2 bits sit in bits 6–7 of bytes j−4 (sc) and j (m).
/// Quantization follows ggml's quantize_row_q4_K_ref (weighted scale/min search per sub-block, then the
/// scales themselves quantized to 6 bits against the super-block's largest).
/// </summary>
public static class BlockQ4_K
{
    public const int Size = 256;
    public const int Bytes = 144;
    public const int SubBlocks = 8;

    /// <summary>Offsets inside a super-block.</summary>
    public const int DOffset = 0, DMinOffset = 2, ScalesOffset = 4, QsOffset = 16;

    /// <summary>The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes.</summary>
    public static (int Scale, int Min) ScaleMin(ReadOnlySpan<byte> scales, int j) => j < 4
        ? (scales[j] & 63, scales[j + 4] & 63)
        : ((scales[j + 4] & 0xF) | (scales[j - 4] >> 6) << 4, (scales[j + 4] >> 4) | (scales[j] >> 6) << 4);

    /// <summary>Writes the 6-bit scale and min of sub-block j into the 12 packed bytes (cleared beforehand); Q5_K shares it.</summary>
    public static void PackScaleMin(Span<byte> packed, int j, int scale, int min)
    {
        if (j < 4)
        {
            packed[j] = (byte)scale;
            packed[j + 4] = (byte)min;
        }
        else
        {
            packed[j + 4] = (byte)((scale & 0xF) | (min & 0xF) << 4);
            packed[j - 4] |= (byte)(scale >> 4 << 6);
            packed[j] |= (byte)(min >> 4 << 6);
        }
    }

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "Q4_K");
        Span<byte> levels = stackalloc byte[Size];
        Span<byte> trial = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        Span<float> scales = stackalloc float[SubBlocks];
        Span<float> mins = stackalloc float[SubBlocks];
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < SubBlocks; j++)
            {
                ReadOnlySpan<float> xs = x.Slice(32 * j, 32);
                float sumX2 = 0;
                foreach (float v in xs) sumX2 += v * v;
                float rms = MathF.Sqrt(sumX2 / 32);
                // Large values matter more, but never let small ones count for nothing.
                for (int l = 0; l < 32; l++) weights[l] = rms + MathF.Abs(xs[l]);
                scales[j] = KQuantSearch.AffineScale(xs, weights, 15, levels.Slice(32 * j, 32), trial, out mins[j], -1f, 0.1f, 20);
                maxScale = MathF.Max(maxScale, scales[j]);
                maxMin = MathF.Max(maxMin, mins[j]);
            }

            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            Span<byte> packed = block.Slice(ScalesOffset, 12);
            packed.Clear();
            for (int j = 0; j < SubBlocks; j++)
                PackScaleMin(packed, j, Math.Clamp(QuantFormat.NearestInt(invScale * scales[j]), 0, 63),
                    Math.Clamp(QuantFormat.NearestInt(invMin * mins[j]), 0, 63));
            Half d = (Half)(maxScale / 63f), dmin = (Half)(maxMin / 63f);
            MemoryMarshal.Write(block.Slice(DOffset), d);
            MemoryMarshal.Write(block.Slice(DMinOffset), dmin);

            // Re-pick each quant against the scales as stored (6-bit, fp16), not the searched ones.
            for (int j = 0; j < SubBlocks; j++)
            {
                (int sc, int m) = ScaleMin(packed, j);
                float dj = (float)d * sc;
                if (dj == 0) continue;
                float mj = (float)dmin * m;
                for (int i = 0; i < 32; i++)
                    levels[32 * j + i] = (byte)Math.Clamp(QuantFormat.NearestInt((x[32 * j + i] + mj) / dj), 0, 15);
            }
            Span<byte> qs = block.Slice(QsOffset, 128);
            for (int g = 0; g < 4; g++)
                for (int l = 0; l < 32; l++)
                    qs[32 * g + l] = (byte)(levels[64 * g + l] | levels[64 * g + 32 + l] << 4);
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "Q4_K");
        for (int b = 0; b < dst.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * Bytes, Bytes);
            float d = (float)MemoryMarshal.Read<Half>(block.Slice(DOffset));
            float dmin = (float)MemoryMarshal.Read<Half>(block.Slice(DMinOffset));
            ReadOnlySpan<byte> packed = block.Slice(ScalesOffset, 12);
            ReadOnlySpan<byte> qs = block.Slice(QsOffset, 128);
            Span<float> y = dst.Slice(b * Size, Size);
            for (int j = 0; j < SubBlocks; j++)
            {
                (int sc, int m) = ScaleMin(packed, j);
                float dj = d * sc, mj = dmin * m;
                int shift = (j & 1) * 4;
                for (int l = 0; l < 32; l++)
                    y[32 * j + l] = dj * ((qs[32 * (j / 2) + l] >> shift) & 0xF) - mj;
            }
        }
    }
}
