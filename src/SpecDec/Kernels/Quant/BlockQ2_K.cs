using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q2_K: super-blocks of 256 values in 84 bytes: 16 scale bytes (group g of 16: scale sc_g low nibble,
/// min m_g high nibble), 64 bytes of 2-bit quants, fp16 d, fp16 dmin; x = d·sc_g·q − dmin·m_g. Value
/// 128h + 32j + l is bits 2j..2j+1 of quant byte 32h + l. Quantized as ggml's quantize_row_q2_K_ref.
/// </summary>
public readonly unsafe struct BlockQ2_K : ISuperBlock
{
    public const int Size = 256;
    public const int Bytes = 84;
    const int QsOffset = 16, DOffset = 80, DMinOffset = 82;

    static int ISuperBlock.Bytes => Bytes;
    static bool ISuperBlock.Signed => false;
    static bool ISuperBlock.HasMins => true;

    static int Quant(byte* block, int i) => (block[QsOffset + 32 * (i / 128) + i % 32] >> (2 * (i % 128 / 32))) & 3;

    static void ISuperBlock.Ints(byte* block, sbyte* v, short* scales, short* mins, out float d, out float dmin)
    {
        for (int i = 0; i < Size; i++) v[i] = (sbyte)Quant(block, i);
        for (int g = 0; g < 16; g++)
        {
            scales[g] = (short)(block[g] & 0xF);
            mins[g] = (short)(block[g] >> 4);
        }
        d = QuantFormat.HalfAt(block + DOffset);
        dmin = QuantFormat.HalfAt(block + DMinOffset);
    }

    static void ISuperBlock.Unpack(byte* block, out SuperBlock u)
    {
        Vector256<byte> three = Vector256.Create((byte)3);
        Vector256<ushort> q0 = Vector256.Load(block + QsOffset).AsUInt16(), q1 = Vector256.Load(block + QsOffset + 32).AsUInt16();
        u.Q0 = Vector512.Create(q0.AsByte() & three, Vector256.ShiftRightLogical(q0, 2).AsByte() & three).AsSByte();
        u.Q1 = Vector512.Create(Vector256.ShiftRightLogical(q0, 4).AsByte() & three, Vector256.ShiftRightLogical(q0, 6).AsByte() & three).AsSByte();
        u.Q2 = Vector512.Create(q1.AsByte() & three, Vector256.ShiftRightLogical(q1, 2).AsByte() & three).AsSByte();
        u.Q3 = Vector512.Create(Vector256.ShiftRightLogical(q1, 4).AsByte() & three, Vector256.ShiftRightLogical(q1, 6).AsByte() & three).AsSByte();
        Vector128<byte> sc = Vector128.Load(block);
        u.Scales = Avx2.ConvertToVector256Int16(sc & Vector128.Create((byte)0xF));
        u.Mins = Avx2.ConvertToVector256Int16(Vector128.ShiftRightLogical(sc.AsUInt16(), 4).AsByte() & Vector128.Create((byte)0xF));
        u.D = QuantFormat.HalfAt(block + DOffset);
        u.DMin = QuantFormat.HalfAt(block + DMinOffset);
    }

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "Q2_K");
        Span<byte> levels = stackalloc byte[Size];
        Span<byte> trial = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float maxScale = 0, maxMin = 0;
            for (int g = 0; g < 16; g++)
            {
                ReadOnlySpan<float> xs = x.Slice(16 * g, 16);
                for (int l = 0; l < 16; l++) weights[l] = MathF.Abs(xs[l]);
                scales[g] = KQuantSearch.AffineScale(xs, weights, 3, levels.Slice(16 * g, 16), trial, out mins[g], -0.5f, 0.1f, 15, absoluteError: true);
                maxScale = MathF.Max(maxScale, scales[g]);
                maxMin = MathF.Max(maxMin, mins[g]);
            }
            block[..16].Clear();
            Half d = (Half)0f, dmin = (Half)0f;
            if (maxScale > 0)
            {
                float iscale = 15f / maxScale;
                for (int g = 0; g < 16; g++) block[g] = (byte)QuantFormat.NearestInt(iscale * scales[g]);
                d = (Half)(maxScale / 15f);
            }
            if (maxMin > 0)
            {
                float iscale = 15f / maxMin;
                for (int g = 0; g < 16; g++) block[g] |= (byte)(QuantFormat.NearestInt(iscale * mins[g]) << 4);
                dmin = (Half)(maxMin / 15f);
            }
            MemoryMarshal.Write(block.Slice(DOffset), d);
            MemoryMarshal.Write(block.Slice(DMinOffset), dmin);
            // Re-pick each quant against the scales as stored.
            for (int g = 0; g < 16; g++)
            {
                float dg = (float)d * (block[g] & 0xF);
                if (dg == 0) continue;
                float mg = (float)dmin * (block[g] >> 4);
                for (int i = 0; i < 16; i++) levels[16 * g + i] = (byte)Math.Clamp(QuantFormat.NearestInt((x[16 * g + i] + mg) / dg), 0, 3);
            }
            PackTwoBits(levels, block.Slice(QsOffset, 64));
        }
    }

    /// <summary>256 two-bit levels into 64 bytes: value 128h + 32j + l to bits 2j of byte 32h + l.</summary>
    internal static void PackTwoBits(ReadOnlySpan<byte> levels, Span<byte> qs)
    {
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++)
                qs[32 * h + l] = (byte)(levels[128 * h + l] | levels[128 * h + l + 32] << 2 | levels[128 * h + l + 64] << 4 | levels[128 * h + l + 96] << 6);
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "Q2_K");
        fixed (byte* s = src)
            for (int b = 0; b < dst.Length / Size; b++)
            {
                byte* block = s + b * Bytes;
                float d = QuantFormat.HalfAt(block + DOffset), dmin = QuantFormat.HalfAt(block + DMinOffset);
                for (int i = 0; i < Size; i++)
                {
                    byte sc = block[i / 16];
                    dst[b * Size + i] = d * (sc & 0xF) * Quant(block, i) - dmin * (sc >> 4);
                }
            }
    }
}
