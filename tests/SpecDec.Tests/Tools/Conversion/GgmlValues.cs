using System.Runtime.InteropServices;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tests.Tools.Conversion;

/// <summary>
/// Test-side reading of GGUF tensor bytes and the values a correct writer must store, from the type
/// definitions (IEEE half, bfloat16 round-to-nearest-even, ggml's Q8_0 block) rather than from our kernels.
/// </summary>
internal static class GgmlValues
{
    public static unsafe float[] Read(WeightTensor t)
    {
        var bytes = new ReadOnlySpan<byte>((void*)t.Data, checked((int)t.ByteLength));
        var result = new float[t.ElementCount];
        switch (t.Type)
        {
            case GgmlType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result);
                break;
            case GgmlType.F16:
                for (int i = 0; i < result.Length; i++) result[i] = (float)MemoryMarshal.Read<Half>(bytes[(2 * i)..]);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < result.Length; i++) result[i] = BitConverter.UInt32BitsToSingle((uint)MemoryMarshal.Read<ushort>(bytes[(2 * i)..]) << 16);
                break;
            case GgmlType.Q8_0: // blocks of { half d; int8 q[32] }
                for (int b = 0; b < result.Length / 32; b++)
                {
                    float d = (float)MemoryMarshal.Read<Half>(bytes[(34 * b)..]);
                    for (int j = 0; j < 32; j++) result[32 * b + j] = d * (sbyte)bytes[34 * b + 2 + j];
                }
                break;
            default:
                throw new NotSupportedException(t.Type.ToString());
        }
        return result;
    }

    /// <summary>What storing <paramref name="values"/> as <paramref name="type"/> must give back.</summary>
    public static float[] Rounded(float[] values, GgmlType type) => type switch
    {
        GgmlType.F32 => values,
        GgmlType.F16 => values.Select(x => (float)(Half)x).ToArray(),
        GgmlType.BF16 => values.Select(NearestBFloat16).ToArray(),
        GgmlType.Q8_0 => Q8_0(values),
        _ => throw new NotSupportedException(type.ToString()),
    };

    /// <summary>The nearer of the two bfloat16 neighbours of x, the even one on a tie.</summary>
    private static float NearestBFloat16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        float down = BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000), up = BitConverter.UInt32BitsToSingle((bits & 0xFFFF0000) + 0x10000);
        double dDown = Math.Abs((double)x - down), dUp = Math.Abs((double)up - x);
        if (dDown != dUp) return dDown < dUp ? down : up;
        return ((bits >> 16) & 1) == 0 ? down : up;
    }

    /// <summary>ggml's quantize_row_q8_0_ref then dequantize: d = max|x|/127 stored as half, q = round(x/d).</summary>
    private static float[] Q8_0(float[] values)
    {
        var result = new float[values.Length];
        for (int b = 0; b < values.Length / 32; b++)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.Max(amax, Math.Abs(values[32 * b + j]));
            float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
            float stored = (float)(Half)d;
            for (int j = 0; j < 32; j++) result[32 * b + j] = stored * MathF.Round(values[32 * b + j] * id, MidpointRounding.AwayFromZero);
        }
        return result;
    }
}
