using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q4_1: blocks of 32 values in 20 bytes: fp16 d, fp16 m, 16 bytes of 4-bit quants q (byte j: element j
/// low nibble, j + 16 high); x = d·q + m. Quantized as ggml's quantize_row_q4_1_ref: m = min, d = (max − min)/15.
/// </summary>
public readonly unsafe struct BlockQ4_1 : IPackedBlock32
{
    public const int Size = 32;
    public const int Bytes = 20;

    static int IBlock32.Bytes => Bytes;
    static bool IBlock32.HasMin => true;
    static int IPackedBlock32.IndexBits => 4;
    static int IPackedBlock32.Offset => 0;
    static bool IPackedBlock32.Indexed => false;
    static Vector128<sbyte> IPackedBlock32.Table => default;
    static float IBlock32.D(byte* block) => QuantFormat.HalfAt(block);
    static float IBlock32.M(byte* block) => QuantFormat.HalfAt(block + 2);
    static Vector256<sbyte> IBlock32.Unpack(byte* block) => Nibbles.Unpack(block + 4).AsSByte();

    static void IBlock32.Values(byte* block, sbyte* v)
    {
        for (int j = 0; j < 16; j++)
        {
            v[j] = (sbyte)(block[4 + j] & 0xF);
            v[j + 16] = (sbyte)(block[4 + j] >> 4);
        }
    }

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "Q4_1");
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float min = float.MaxValue, max = float.MinValue;
            foreach (float v in x)
            {
                min = MathF.Min(min, v);
                max = MathF.Max(max, v);
            }
            float d = (max - min) / 15;
            float id = d != 0 ? 1f / d : 0f;
            MemoryMarshal.Write(block, (Half)d);
            MemoryMarshal.Write(block.Slice(2), (Half)min);
            for (int j = 0; j < 16; j++)
            {
                int lo = Math.Min(15, (int)((x[j] - min) * id + 0.5f));
                int hi = Math.Min(15, (int)((x[j + 16] - min) * id + 0.5f));
                block[4 + j] = (byte)(lo | hi << 4);
            }
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "Q4_1");
        for (int b = 0; b < dst.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * Bytes, Bytes);
            float d = (float)MemoryMarshal.Read<Half>(block), m = (float)MemoryMarshal.Read<Half>(block.Slice(2));
            for (int j = 0; j < 16; j++)
            {
                dst[b * Size + j] = (block[4 + j] & 0xF) * d + m;
                dst[b * Size + j + 16] = (block[4 + j] >> 4) * d + m;
            }
        }
    }
}
