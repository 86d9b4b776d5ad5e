using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF IQ4_XS: super-blocks of 256 values in 136 bytes: fp16 d, 16 bits scales_h, 4 bytes scales_l, then 8
/// sub-blocks of 32 as <see cref="BlockIQ4_NL"/>'s 16 index bytes; x = d·(ls_j − 32)·Values[i] where sub-block
/// j's 6-bit ls_j has its low nibble in scales_l (j/2, nibble j%2) and its top two bits at 2j of scales_h.
/// Quantized as ggml's quantize_iq4_xs (no importance matrix).
/// </summary>
public readonly unsafe struct BlockIQ4_XS : IPackedSuperBlock
{
    public const int Size = 256;
    public const int Bytes = 136;
    const int QsOffset = 8;

    static int ISuperBlock.Bytes => Bytes;
    static bool ISuperBlock.Signed => true;
    static bool ISuperBlock.HasMins => false;
    static int IPackedSuperBlock.Offset => 0;

    /// <summary>Sub-block j's scale minus 32.</summary>
    static int Scale(byte* block, int j) =>
        (((block[4 + j / 2] >> (4 * (j % 2))) & 0xF) | ((*(ushort*)(block + 2) >> (2 * j)) & 3) << 4) - 32;

    static int Index(byte* block, int i)
    {
        int j = i / 32, l = i % 32;
        return l < 16 ? block[QsOffset + 16 * j + l] & 0xF : block[QsOffset + 16 * j + l - 16] >> 4;
    }

    static void ISuperBlock.Ints(byte* block, sbyte* v, short* scales, short* mins, out float d, out float dmin)
    {
        for (int i = 0; i < Size; i++) v[i] = BlockIQ4_NL.Values[Index(block, i)];
        for (int j = 0; j < 8; j++) scales[2 * j] = scales[2 * j + 1] = (short)Scale(block, j);
        d = QuantFormat.HalfAt(block);
        dmin = 0;
    }

    static void ISuperBlock.Unpack(byte* block, out SuperBlock u)
    {
        Vector512<sbyte> table = Vector512.Create(Vector256.Create(BlockIQ4_NL.Table, BlockIQ4_NL.Table), Vector256.Create(BlockIQ4_NL.Table, BlockIQ4_NL.Table));
        u.Q0 = Group(block + QsOffset, table);
        u.Q1 = Group(block + QsOffset + 32, table);
        u.Q2 = Group(block + QsOffset + 64, table);
        u.Q3 = Group(block + QsOffset + 96, table);
        short s0 = (short)Scale(block, 0), s1 = (short)Scale(block, 1), s2 = (short)Scale(block, 2), s3 = (short)Scale(block, 3);
        short s4 = (short)Scale(block, 4), s5 = (short)Scale(block, 5), s6 = (short)Scale(block, 6), s7 = (short)Scale(block, 7);
        u.Scales = Vector256.Create(s0, s0, s1, s1, s2, s2, s3, s3, s4, s4, s5, s5, s6, s6, s7, s7);
        u.Mins = default;
        u.D = QuantFormat.HalfAt(block);
        u.DMin = 0;
    }

    /// <summary>Sub-blocks 2c and 2c + 1 (32 bytes) looked up, in element order.</summary>
    static Vector512<sbyte> Group(byte* qs, Vector512<sbyte> table)
    {
        Vector256<byte> q = Vector256.Load(qs), nibble = Vector256.Create((byte)0x0F);
        Vector256<byte> lo = q & nibble, hi = Vector256.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & nibble;
        // [lo 0..15, lo 16..31, hi 0..15, hi 16..31] → [lo 0..15, hi 0..15, lo 16..31, hi 16..31].
        Vector512<long> both = Vector512.Create(lo, hi).AsInt64();
        Vector512<sbyte> indices = Avx512F.Shuffle4x128(both, both, 0b11_01_10_00).AsSByte();
        return Avx512BW.Shuffle(table, indices);
    }

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "IQ4_XS");
        Span<byte> levels = stackalloc byte[Size];
        Span<float> scales = stackalloc float[8];
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            block.Clear();
            float maxScale = 0, amaxScale = 0;
            for (int j = 0; j < 8; j++)
            {
                scales[j] = IQ4Search.BlockScale(x.Slice(32 * j, 32), levels.Slice(32 * j, 32));
                if (MathF.Abs(scales[j]) > amaxScale)
                {
                    amaxScale = MathF.Abs(scales[j]);
                    maxScale = scales[j];
                }
            }
            float d = -maxScale / 32;
            MemoryMarshal.Write(block, (Half)d);
            float id = d != 0 ? 1 / d : 0f;
            ushort scalesH = 0;
            for (int j = 0; j < 8; j++)
            {
                int l = Math.Clamp(QuantFormat.NearestInt(id * scales[j]), -32, 31);
                // Quants re-picked against the sub-block scale before rounding d to fp16, as ggml does.
                float dl = d * l;
                float idl = dl != 0 ? 1 / dl : 0f;
                for (int i = 0; i < 32; i++) levels[32 * j + i] = (byte)IQ4Search.BestIndex(idl * x[32 * j + i]);
                l += 32;
                block[4 + j / 2] |= (byte)((l & 0xF) << (4 * (j % 2)));
                scalesH |= (ushort)((l >> 4) << (2 * j));
            }
            MemoryMarshal.Write(block.Slice(2), scalesH);
            IQ4Search.PackNibbles(levels, block.Slice(QsOffset, 128));
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "IQ4_XS");
        fixed (byte* s = src)
            for (int b = 0; b < dst.Length / Size; b++)
            {
                byte* block = s + b * Bytes;
                float d = QuantFormat.HalfAt(block);
                for (int j = 0; j < 8; j++)
                {
                    float dl = d * Scale(block, j);
                    for (int l = 0; l < 32; l++) dst[b * Size + 32 * j + l] = dl * BlockIQ4_NL.Values[Index(block, 32 * j + l)];
                }
            }
    }
}
