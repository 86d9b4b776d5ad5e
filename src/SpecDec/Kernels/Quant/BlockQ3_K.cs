using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q3_K: super-blocks of 256 values in 110 bytes: 32 bytes hmask, 64 bytes of low 2-bit quants, 12 bytes
/// packing 16 six-bit scales, fp16 d; x = d·(sc_g − 32)·(q − 4) with q = low | 4·high. Value 128h + 32j + l
/// has its low bits at 2j of byte 32h + l and its high bit at bit 4h + j of hmask[l]. Scale g: low nibble of
/// byte g (g &lt; 8) or high nibble of byte g − 8, top two bits at 2·(g / 4) of byte 8 + g % 4. Quantized as
/// ggml's quantize_row_q3_K_ref. For the dot kernels q is the unsigned integer and −4·(sc − 32) the offset.
/// </summary>
public readonly unsafe struct BlockQ3_K : IPackedSuperBlock
{
    public const int Size = 256;
    public const int Bytes = 110;
    const int QsOffset = 32, ScalesOffset = 96, DOffset = 108;

    static int ISuperBlock.Bytes => Bytes;
    static bool ISuperBlock.Signed => false;
    static bool ISuperBlock.HasMins => true;
    static int IPackedSuperBlock.Offset => -4;

    /// <summary>The unsigned 3-bit quant (0..7) of value i.</summary>
    static int Quant(byte* block, int i)
    {
        int h = i / 128, j = i % 128 / 32, l = i % 32;
        int low = (block[QsOffset + 32 * h + l] >> (2 * j)) & 3;
        return low | ((block[l] >> (4 * h + j)) & 1) << 2;
    }

    /// <summary>Scale g (0..15) minus 32.</summary>
    static int Scale(byte* block, int g)
    {
        byte* s = block + ScalesOffset;
        int low = g < 8 ? s[g] & 0xF : s[g - 8] >> 4;
        return (low | ((s[8 + g % 4] >> (2 * (g / 4))) & 3) << 4) - 32;
    }

    static void ISuperBlock.Ints(byte* block, sbyte* v, short* scales, short* mins, out float d, out float dmin)
    {
        for (int i = 0; i < Size; i++) v[i] = (sbyte)Quant(block, i);
        for (int g = 0; g < 16; g++)
        {
            scales[g] = (short)Scale(block, g);
            mins[g] = (short)(4 * scales[g]);
        }
        d = dmin = QuantFormat.HalfAt(block + DOffset);
    }

    static void ISuperBlock.Unpack(byte* block, out SuperBlock u)
    {
        Vector256<byte> three = Vector256.Create((byte)3), one = Vector256.Create((byte)1);
        Vector256<ushort> hm = Vector256.Load(block).AsUInt16();
        Vector256<ushort> q0 = Vector256.Load(block + QsOffset).AsUInt16(), q1 = Vector256.Load(block + QsOffset + 32).AsUInt16();
        u.Q0 = Vector512.Create(Bits(q0, hm, 0, 0), Bits(q0, hm, 1, 1)).AsSByte();
        u.Q1 = Vector512.Create(Bits(q0, hm, 2, 2), Bits(q0, hm, 3, 3)).AsSByte();
        u.Q2 = Vector512.Create(Bits(q1, hm, 0, 4), Bits(q1, hm, 1, 5)).AsSByte();
        u.Q3 = Vector512.Create(Bits(q1, hm, 2, 6), Bits(q1, hm, 3, 7)).AsSByte();

        // The 16 six-bit scales as ggml's dequantize_row_q3_K regroups them.
        const uint low4 = 0x0f0f0f0f, low2 = 0x03030303;
        byte* p = block + ScalesOffset;
        uint a0 = *(uint*)p, a1 = *(uint*)(p + 4), t = *(uint*)(p + 8);
        Vector128<sbyte> sc = Vector128.Create(
            (a0 & low4) | ((t & low2) << 4), (a1 & low4) | (((t >> 2) & low2) << 4),
            ((a0 >> 4) & low4) | (((t >> 4) & low2) << 4), ((a1 >> 4) & low4) | (((t >> 6) & low2) << 4)).AsSByte()
            - Vector128.Create((sbyte)32);
        u.Scales = Avx2.ConvertToVector256Int16(sc);
        u.Mins = u.Scales << 2;
        u.D = u.DMin = QuantFormat.HalfAt(block + DOffset);
    }

    /// <summary>The 32 values with low bits at 2j of q and high bit b of hm.</summary>
    static Vector256<byte> Bits(Vector256<ushort> q, Vector256<ushort> hm, int j, int b) =>
        (Vector256.ShiftRightLogical(q, 2 * j).AsByte() & Vector256.Create((byte)3))
        | ((Vector256.ShiftRightLogical(hm, b).AsByte() & Vector256.Create((byte)1)) << 2);

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "Q3_K");
        Span<sbyte> levels = stackalloc sbyte[Size];
        Span<float> scales = stackalloc float[16];
        Span<byte> packed = stackalloc byte[Size];
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float maxScale = 0, amax = 0;
            for (int g = 0; g < 16; g++)
            {
                scales[g] = Q3Search.Scale(x.Slice(16 * g, 16), levels.Slice(16 * g, 16));
                if (MathF.Abs(scales[g]) > amax)
                {
                    amax = MathF.Abs(scales[g]);
                    maxScale = scales[g];
                }
            }
            Span<byte> sc = block.Slice(ScalesOffset, 12);
            sc.Clear();
            Half d = (Half)0f;
            if (maxScale != 0)
            {
                float iscale = -32f / maxScale;
                for (int g = 0; g < 16; g++)
                {
                    int l = Math.Clamp((int)(sbyte)QuantFormat.NearestInt(iscale * scales[g]), -32, 31) + 32;
                    if (g < 8) sc[g] = (byte)(l & 0xF);
                    else sc[g - 8] |= (byte)((l & 0xF) << 4);
                    sc[8 + g % 4] |= (byte)((l >> 4) << (2 * (g / 4)));
                }
                d = (Half)(1 / iscale);
            }
            MemoryMarshal.Write(block.Slice(DOffset), d);
            fixed (byte* bp = block)
                for (int g = 0; g < 16; g++)
                {
                    float dg = (float)d * Scale(bp, g);
                    if (dg == 0) continue;
                    for (int i = 0; i < 16; i++) levels[16 * g + i] = (sbyte)Math.Clamp(QuantFormat.NearestInt(x[16 * g + i] / dg), -4, 3);
                }
            // Value i's high bit goes to bit i / 32 of hmask[i % 32], its low two bits to the packed quants.
            block[..32].Clear();
            for (int i = 0; i < Size; i++)
            {
                int l = levels[i] + 4;
                if (l > 3)
                {
                    block[i % 32] |= (byte)(1 << (i / 32));
                    l -= 4;
                }
                packed[i] = (byte)l;
            }
            BlockQ2_K.PackTwoBits(packed, block.Slice(QsOffset, 64));
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "Q3_K");
        fixed (byte* s = src)
            for (int b = 0; b < dst.Length / Size; b++)
            {
                byte* block = s + b * Bytes;
                float d = QuantFormat.HalfAt(block + DOffset);
                for (int i = 0; i < Size; i++) dst[b * Size + i] = d * Scale(block, i / 16) * (Quant(block, i) - 4);
            }
    }
}
