using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q5_1: blocks of 32 values in 24 bytes: fp16 d, fp16 m, 4 bytes of fifth bits, 16 bytes of low nibbles
/// (as <see cref="BlockQ5_0"/>); x = d·q + m. Quantized as ggml's quantize_row_q5_1_ref: m = min,
/// d = (max − min)/31. llama.cpp writes it where a Q5_K tensor's rows are not a multiple of 256.
/// </summary>
public readonly unsafe struct BlockQ5_1 : IPackedBlock32
{
    public const int Size = 32;
    public const int Bytes = 24;

    static int IBlock32.Bytes => Bytes;
    static bool IBlock32.HasMin => true;
    static int IPackedBlock32.IndexBits => 5;
    static int IPackedBlock32.Offset => 0;
    static bool IPackedBlock32.Indexed => false;
    static Vector128<sbyte> IPackedBlock32.Table => default;
    static float IBlock32.D(byte* block) => QuantFormat.HalfAt(block);
    static float IBlock32.M(byte* block) => QuantFormat.HalfAt(block + 2);

    static Vector256<sbyte> IBlock32.Unpack(byte* block) => (Nibbles.Unpack(block + 8) | Nibbles.FifthBits(block + 4)).AsSByte();

    static void IBlock32.Values(byte* block, sbyte* v)
    {
        uint qh = *(uint*)(block + 4);
        for (int j = 0; j < 32; j++) v[j] = (sbyte)BlockQ5_0.FiveBits(block + 8, qh, j);
    }

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "Q5_1");
        Span<int> q = stackalloc int[Size];
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
            float d = (max - min) / 31;
            float id = d != 0 ? 1f / d : 0f;
            MemoryMarshal.Write(block, (Half)d);
            MemoryMarshal.Write(block.Slice(2), (Half)min);
            for (int j = 0; j < Size; j++) q[j] = (byte)(int)((x[j] - min) * id + 0.5f);
            BlockQ5_0.PackFive(q, block.Slice(4));
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "Q5_1");
        fixed (byte* s = src)
            for (int b = 0; b < dst.Length / Size; b++)
            {
                byte* block = s + b * Bytes;
                float d = QuantFormat.HalfAt(block), m = QuantFormat.HalfAt(block + 2);
                uint qh = *(uint*)(block + 4);
                for (int j = 0; j < Size; j++) dst[b * Size + j] = BlockQ5_0.FiveBits(block + 8, qh, j) * d + m;
            }
    }
}
