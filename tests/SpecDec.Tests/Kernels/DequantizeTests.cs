using SpecDec.Kernels;
using SpecDec.Kernels.Quant;
using SpecDec.Tensors;

namespace SpecDec.Tests.Kernels;

public unsafe class DequantizeTests
{
    [Fact]
    public void F16_conversion_matches_System_Half_for_every_bit_pattern_NaN_payloads_aside()
    {
        const int count = 65536 + 5; // a ragged tail too
        var bits = new ushort[count];
        for (int i = 0; i < count; i++) bits[i] = (ushort)i;
        foreach (SimdLevel level in Simd.Supported())
        {
            var dst = new float[count];
            fixed (ushort* s = bits)
            fixed (float* d = dst)
                Dequantize.F16((byte*)s, d, count, level);
            for (int i = 0; i < count; i++)
            {
                float expected = (float)BitConverter.UInt16BitsToHalf(bits[i]);
                if (float.IsNaN(expected))
                {
                    Assert.True(float.IsNaN(dst[i]) && float.IsNegative(dst[i]) == float.IsNegative(expected), $"{level} NaN 0x{bits[i]:x4}");
                    continue;
                }
                Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(dst[i]),
                    $"{level} half 0x{bits[i]:x4}: {dst[i]} vs {expected}");
            }
        }
    }

    [Fact]
    public void BF16_conversion_is_the_upper_half_of_the_f32_bits()
    {
        var rng = new Random(3);
        const int count = 1003;
        float[] values = KernelTestData.Random(rng, count, 100f);
        var bits = new ushort[count];
        for (int i = 0; i < count; i++) bits[i] = WeightQuantizer.ToBFloat16(values[i]);
        foreach (SimdLevel level in Simd.Supported())
        {
            var dst = new float[count];
            fixed (ushort* s = bits)
            fixed (float* d = dst)
                Dequantize.BF16((byte*)s, d, count, level);
            for (int i = 0; i < count; i++)
            {
                Assert.Equal((uint)bits[i] << 16, BitConverter.SingleToUInt32Bits(dst[i]));
                Assert.True(Math.Abs(dst[i] - values[i]) <= Math.Abs(values[i]) / 256, $"{values[i]} → {dst[i]}");
            }
        }
    }

    [Fact]
    public void BF16_rounding_is_round_to_nearest_even()
    {
        Assert.Equal(0x3f80, WeightQuantizer.ToBFloat16(1f));
        Assert.Equal(0x3f80, WeightQuantizer.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3f808000))); // tie → even
        Assert.Equal(0x3f82, WeightQuantizer.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3f818000))); // tie → even (up)
        Assert.Equal(0x3f81, WeightQuantizer.ToBFloat16(BitConverter.UInt32BitsToSingle(0x3f808001)));
        Assert.Equal(0xbf80, WeightQuantizer.ToBFloat16(-1f));
    }

    [Fact]
    public void Q8_0_rows_decode_block_scale_times_quant()
    {
        // One hand-made block: d = 0.5 (fp16 0x3800), quants 0..31 with alternating signs.
        var block = new byte[34];
        block[0] = 0x00;
        block[1] = 0x38;
        for (int i = 0; i < 32; i++) block[2 + i] = (byte)(sbyte)(i % 2 == 0 ? i : -i);
        var dst = new float[32];
        fixed (byte* s = block)
        fixed (float* d = dst)
            Dequantize.Row(GgmlType.Q8_0, s, d, 32, Simd.Best);
        for (int i = 0; i < 32; i++) Assert.Equal(0.5f * (i % 2 == 0 ? i : -i), dst[i]);
    }
}
