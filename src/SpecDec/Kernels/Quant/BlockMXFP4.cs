using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF MXFP4 (OCP microscaling, gpt-oss): blocks of 32 values in 17 bytes: an E8M0 exponent e, then 16 bytes of
/// 4-bit E2M1 codes (byte j: element j low nibble, j + 16 high). ggml stores the E2M1 values doubled as int8
/// (<see cref="Values"/>) and halves the scale: x = Values[i]·2^(e − 128). Quantized as ggml's
/// quantize_row_mxfp4_ref: e = ⌊log2 max|x|⌋ − 2 + 127, each value to its nearest code.
/// </summary>
public readonly unsafe struct BlockMXFP4 : IPackedBlock32
{
    public const int Size = 32;
    public const int Bytes = 17;

    /// <summary>ggml's kvalues_mxfp4: twice the E2M1 values.</summary>
    public static ReadOnlySpan<sbyte> Values => [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

    static readonly Vector128<sbyte> Table = Vector128.Create(Values);

    /// <summary>2^(e − 128) (ggml's GGML_E8M0_TO_FP32_HALF): subnormal for e &lt; 2.</summary>
    public static float Scale(byte e) => BitConverter.UInt32BitsToSingle(e < 2 ? 0x0020_0000u << e : (uint)(e - 1) << 23);

    /// <summary><see cref="Scale"/> of 8 exponent bytes, built from their bits as the scalar one is: the same floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Scales(byte* e)
    {
        Vector256<uint> x = Avx2.ConvertToVector256Int32(e).AsUInt32();
        Vector256<uint> normal = Vector256.ShiftLeft(x - Vector256<uint>.One, 23);
        Vector256<uint> subnormal = Avx2.ShiftLeftLogicalVariable(Vector256.Create(0x0020_0000u), x);
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(2u)), subnormal, normal).AsSingle();
    }

    static int IBlock32.Bytes => Bytes;
    static bool IBlock32.HasMin => false;
    static int IPackedBlock32.IndexBits => 4;
    static int IPackedBlock32.Offset => 0;
    static bool IPackedBlock32.Indexed => true;
    static Vector128<sbyte> IPackedBlock32.Table => Table;
    static bool IPackedBlock32.ExponentScale => true;
    static float IBlock32.D(byte* block) => Scale(*block);
    static float IBlock32.M(byte* block) => 0f;
    static Vector256<sbyte> IBlock32.Unpack(byte* block) => Nibbles.Lookup(block + 1, Table);

    static void IBlock32.Values(byte* block, sbyte* v)
    {
        for (int j = 0; j < 16; j++)
        {
            v[j] = Values[block[1 + j] & 0xF];
            v[j + 16] = Values[block[1 + j] >> 4];
        }
    }

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "MXFP4");
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float amax = 0;
            foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
            byte e = amax > 0 ? (byte)(int)(MathF.Floor(MathF.Log2(amax)) - 2 + 127) : (byte)0;
            float d = Scale(e);
            block[0] = e;
            for (int j = 0; j < 16; j++) block[1 + j] = (byte)(Nearest(x[j], d) | Nearest(x[j + 16], d) << 4);
        }
    }

    /// <summary>The code whose value·d is nearest x, the first of equals (ggml's best_index_mxfp4).</summary>
    static int Nearest(float x, float d)
    {
        int best = 0;
        float bestError = MathF.Abs(Values[0] * d - x);
        for (int i = 1; i < 16; i++)
        {
            float error = MathF.Abs(Values[i] * d - x);
            if (error < bestError)
            {
                best = i;
                bestError = error;
            }
        }
        return best;
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "MXFP4");
        for (int b = 0; b < dst.Length / Size; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * Bytes, Bytes);
            float d = Scale(block[0]);
            for (int j = 0; j < 16; j++)
            {
                dst[b * Size + j] = Values[block[1 + j] & 0xF] * d;
                dst[b * Size + j + 16] = Values[block[1 + j] >> 4] * d;
            }
        }
    }
}
