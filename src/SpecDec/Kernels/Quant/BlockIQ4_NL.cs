using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF IQ4_NL: blocks of 32 values in 18 bytes: fp16 d and 16 bytes of 4-bit indices (byte j: element j low
/// nibble, j + 16 high) into the non-linear table <see cref="Values"/>; x = d·Values[i]. Quantized as ggml's
/// quantize_iq4_nl (the search of <see cref="IQ4Search"/>). llama.cpp writes it where a Q2_K, Q3_K or IQ4_XS
/// tensor's rows are not a multiple of 256.
/// </summary>
public readonly unsafe struct BlockIQ4_NL : IPackedBlock32
{
    public const int Size = 32;
    public const int Bytes = 18;

    /// <summary>ggml's kvalues_iq4nl.</summary>
    public static ReadOnlySpan<sbyte> Values => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    internal static readonly Vector128<sbyte> Table = Vector128.Create(Values);

    static int IBlock32.Bytes => Bytes;
    static bool IBlock32.HasMin => false;
    static int IPackedBlock32.IndexBits => 4;
    static int IPackedBlock32.Offset => 0;
    static bool IPackedBlock32.Indexed => true;
    static Vector128<sbyte> IPackedBlock32.Table => Table;
    static float IBlock32.D(byte* block) => QuantFormat.HalfAt(block);
    static float IBlock32.M(byte* block) => 0f;
    static Vector256<sbyte> IBlock32.Unpack(byte* block) => Nibbles.Lookup(block + 2, Table);

    static void IBlock32.Values(byte* block, sbyte* v)
    {
        for (int j = 0; j < 16; j++)
        {
            v[j] = Values[block[2 + j] & 0xF];
            v[j + 16] = Values[block[2 + j] >> 4];
        }
    }

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "IQ4_NL");
        Span<byte> levels = stackalloc byte[Size];
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float d = IQ4Search.BlockScale(x, levels);
            // One block per "super-block": the searched scale is stored as is and the quants re-picked against it.
            float id = d != 0 ? 1f / d : 0f;
            for (int j = 0; j < Size; j++) levels[j] = (byte)IQ4Search.BestIndex(id * x[j]);
            MemoryMarshal.Write(block, (Half)d);
            IQ4Search.PackNibbles(levels, block.Slice(2, 16));
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "IQ4_NL");
        for (int b = 0; b < dst.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * Bytes, Bytes);
            float d = (float)MemoryMarshal.Read<Half>(block);
            for (int j = 0; j < 16; j++)
            {
                dst[b * Size + j] = d * Values[block[2 + j] & 0xF];
                dst[b * Size + j + 16] = d * Values[block[2 + j] >> 4];
            }
        }
    }
}
