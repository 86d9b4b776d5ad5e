using System.Runtime.InteropServices;
using SpecDec.Tensors;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// f32 rows to a weight type's bytes (the inverse of <see cref="Dequantize"/>): for writing models
/// (synthetic models now, `specdec quantize` later). Reference code, not a hot path.
/// </summary>
public static class WeightQuantizer
{
    public static void Row(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        switch (type)
        {
            case GgmlType.F32:
                MemoryMarshal.AsBytes(src).CopyTo(dst);
                break;
            case GgmlType.F16:
                for (int i = 0; i < src.Length; i++) MemoryMarshal.Write(dst.Slice(2 * i), (Half)src[i]);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < src.Length; i++) MemoryMarshal.Write(dst.Slice(2 * i), ToBFloat16(src[i]));
                break;
            case GgmlType.Q8_0:
                BlockQ8_0.Quantize(src, dst);
                break;
            case GgmlType.Q4_0:
                BlockQ4_0.Quantize(src, dst);
                break;
            case GgmlType.Q4_K:
                BlockQ4_K.Quantize(src, dst);
                break;
            case GgmlType.Q6_K:
                BlockQ6_K.Quantize(src, dst);
                break;
            case GgmlType.Q4_1: BlockQ4_1.Quantize(src, dst); break;
            case GgmlType.Q5_0: BlockQ5_0.Quantize(src, dst); break;
            case GgmlType.Q5_1: BlockQ5_1.Quantize(src, dst); break;
            case GgmlType.Q2_K: BlockQ2_K.Quantize(src, dst); break;
            case GgmlType.Q3_K: BlockQ3_K.Quantize(src, dst); break;
            case GgmlType.Q5_K: BlockQ5_K.Quantize(src, dst); break;
            case GgmlType.IQ4_NL: BlockIQ4_NL.Quantize(src, dst); break;
            case GgmlType.IQ4_XS: BlockIQ4_XS.Quantize(src, dst); break;
            case GgmlType.MXFP4: BlockMXFP4.Quantize(src, dst); break;
            default:
                throw new NotSupportedException($"cannot write {type} weights yet");
        }
    }

    /// <summary>Round to nearest even, as torch's float → bfloat16 cast (NaN stays NaN).</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        bits += 0x7fff + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }
}
