using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q5_0: blocks of 32 values in 22 bytes: fp16 d, 4 bytes qh (bit j: the fifth bit of element j), 16 bytes
/// of low nibbles (byte j: element j low, j + 16 high); x = d·(q − 16). Quantized as ggml's
/// quantize_row_q5_0_ref: d = m / −16 for the value m of largest magnitude. llama.cpp writes it where a
/// Q4_K tensor's rows are not a multiple of 256.
/// </summary>
public readonly unsafe struct BlockQ5_0 : IPackedBlock32
{
    public const int Size = 32;
    public const int Bytes = 22;

    static int IBlock32.Bytes => Bytes;
    static bool IBlock32.HasMin => false;
    static int IPackedBlock32.IndexBits => 5;
    static int IPackedBlock32.Offset => -16;
    static bool IPackedBlock32.Indexed => false;
    static Vector128<sbyte> IPackedBlock32.Table => default;
    static float IBlock32.D(byte* block) => QuantFormat.HalfAt(block);
    static float IBlock32.M(byte* block) => 0f;

    static Vector256<sbyte> IBlock32.Unpack(byte* block) =>
        (Nibbles.Unpack(block + 6) | Nibbles.FifthBits(block + 2)).AsSByte() - Vector256.Create((sbyte)16);

    static void IBlock32.Values(byte* block, sbyte* v)
    {
        uint qh = *(uint*)(block + 2);
        for (int j = 0; j < 32; j++) v[j] = (sbyte)(FiveBits(block + 6, qh, j) - 16);
    }

    /// <summary>Element j's 5-bit quant from the nibbles at qs and the high bits qh.</summary>
    internal static int FiveBits(byte* qs, uint qh, int j) =>
        (j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4) | (int)((qh >> j) & 1) << 4;

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "Q5_0");
        Span<int> q = stackalloc int[Size];
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
            float d = max / -16f;
            float id = d != 0 ? 1f / d : 0f;
            MemoryMarshal.Write(block, (Half)d);
            // x·id lies in [−16, 16]; +16.5 and truncation round to nearest, the clamp folds +16 into 31.
            for (int j = 0; j < Size; j++) q[j] = Math.Min(31, (int)(x[j] * id + 16.5f));
            PackFive(q, block.Slice(2));
        }
    }

    /// <summary>32 five-bit quants into qh (4 bytes) and the nibbles (16 bytes) that follow it.</summary>
    internal static void PackFive(ReadOnlySpan<int> q, Span<byte> qhAndQs)
    {
        uint qh = 0;
        for (int j = 0; j < 16; j++)
        {
            qhAndQs[4 + j] = (byte)((q[j] & 0xF) | (q[j + 16] & 0xF) << 4);
            qh |= (uint)(q[j] >> 4) << j | (uint)(q[j + 16] >> 4) << (j + 16);
        }
        MemoryMarshal.Write(qhAndQs, qh);
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "Q5_0");
        fixed (byte* s = src)
            for (int b = 0; b < dst.Length / Size; b++)
            {
                byte* block = s + b * Bytes;
                float d = QuantFormat.HalfAt(block);
                uint qh = *(uint*)(block + 2);
                for (int j = 0; j < Size; j++) dst[b * Size + j] = (FiveBits(block + 6, qh, j) - 16) * d;
            }
    }
}
