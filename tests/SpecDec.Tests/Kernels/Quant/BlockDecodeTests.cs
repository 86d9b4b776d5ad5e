using SpecDec.Kernels.Quant;

namespace SpecDec.Tests.Kernels.Quant;

/// <summary>
/// Hand-made blocks with known bytes decode to the values the GGUF/ggml block layouts define. Expected values
/// are either worked out by hand (literals) or produced by packing chosen quants the way ggml's quantizers
/// lay them out, so they do not share the dequantizers' code path.
/// </summary>
public class BlockDecodeTests
{
    [Fact]
    public void Q4_0_DecodesLowNibblesFirstThenHighNibbles()
    {
        // d = 0.5 (fp16 0x3800); byte j = j | (15 − j) << 4.
        var block = new byte[BlockQ4_0.Bytes];
        block[0] = 0x00;
        block[1] = 0x38;
        for (int j = 0; j < 16; j++) block[2 + j] = (byte)(j | (15 - j) << 4);
        var y = new float[32];
        BlockQ4_0.Dequantize(block, y);
        Assert.Equal(-4f, y[0]);     // 0.5·(0 − 8)
        Assert.Equal(3.5f, y[15]);   // 0.5·(15 − 8)
        Assert.Equal(3.5f, y[16]);   // high nibble of byte 0: 15
        Assert.Equal(-4f, y[31]);    // high nibble of byte 15: 0
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal(0.5f * (j - 8), y[j]);
            Assert.Equal(0.5f * (15 - j - 8), y[j + 16]);
        }
    }

    // Sub-block scales and mins used by the Q4_K tests, and their 12 packed bytes worked out by hand from
    // ggml's get_scale_min_k4 layout.
    static readonly int[] Q4KScales = [1, 2, 3, 4, 5, 6, 7, 63];
    static readonly int[] Q4KMins = [0, 1, 2, 3, 10, 20, 33, 63];
    static readonly byte[] Q4KPacked = [0x01, 0x02, 0x03, 0xC4, 0x00, 0x41, 0x82, 0xC3, 0xA5, 0x46, 0x17, 0xFF];

    static byte[] Q4KBlock(Func<int, byte> qs)
    {
        var block = new byte[BlockQ4_K.Bytes];
        block[0] = 0x00; block[1] = 0x38; // d = 0.5
        block[2] = 0x00; block[3] = 0x34; // dmin = 0.25
        Q4KPacked.CopyTo(block, 4);
        for (int i = 0; i < 128; i++) block[16 + i] = qs(i);
        return block;
    }

    [Fact]
    public void Q4_K_UnpacksSixBitScalesAndMins()
    {
        for (int j = 0; j < 8; j++)
            Assert.Equal((Q4KScales[j], Q4KMins[j]), BlockQ4_K.ScaleMin(Q4KPacked, j));
    }

    [Fact]
    public void Q4_K_DecodesHandComputedValues()
    {
        // Every quant byte 0x3C: low nibble 12 (even sub-blocks), high nibble 3 (odd sub-blocks).
        var y = new float[256];
        BlockQ4_K.Dequantize(Q4KBlock(_ => 0x3C), y);
        Assert.Equal(6f, y[0]);        // 0.5·1·12 − 0.25·0
        Assert.Equal(2.75f, y[32]);    // 0.5·2·3 − 0.25·1
        Assert.Equal(27.5f, y[128]);   // 0.5·5·12 − 0.25·10
        Assert.Equal(33.75f, y[192]);  // 0.5·7·12 − 0.25·33
        Assert.Equal(78.75f, y[255]);  // 0.5·63·3 − 0.25·63
    }

    [Fact]
    public void Q4_K_DecodesEveryQuantInGgmlOrder()
    {
        Func<int, byte> qs = i => (byte)(i * 37 + 11);
        var y = new float[256];
        BlockQ4_K.Dequantize(Q4KBlock(qs), y);
        // ggml's dequantize_row_q4_K walk: 4 groups of 32 bytes, low nibbles then high nibbles.
        int e = 0;
        for (int g = 0; g < 4; g++)
        {
            for (int l = 0; l < 32; l++, e++)
                Assert.Equal(0.5f * Q4KScales[2 * g] * (qs(32 * g + l) & 0xF) - 0.25f * Q4KMins[2 * g], y[e]);
            for (int l = 0; l < 32; l++, e++)
                Assert.Equal(0.5f * Q4KScales[2 * g + 1] * (qs(32 * g + l) >> 4) - 0.25f * Q4KMins[2 * g + 1], y[e]);
        }
    }

    static readonly sbyte[] Q6KScales = [2, -1, -3, 7, 4, 1, 5, -128, 127, 9, -9, 3, 1, 1, 2, 6];

    /// <summary>A Q6_K block (d = 0.25) holding quants q[0..256), packed as ggml's quantize_row_q6_K_ref does.</summary>
    static byte[] Q6KBlock(int[] q)
    {
        var block = new byte[BlockQ6_K.Bytes];
        for (int h = 0; h < 2; h++)
        {
            for (int l = 0; l < 32; l++)
            {
                int q1 = q[128 * h + l], q2 = q[128 * h + l + 32], q3 = q[128 * h + l + 64], q4 = q[128 * h + l + 96];
                block[64 * h + l] = (byte)((q1 & 0xF) | (q3 & 0xF) << 4);
                block[64 * h + l + 32] = (byte)((q2 & 0xF) | (q4 & 0xF) << 4);
                block[128 + 32 * h + l] = (byte)(q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
        for (int g = 0; g < 16; g++) block[192 + g] = (byte)Q6KScales[g];
        block[208] = 0x00; block[209] = 0x34; // d = 0.25
        return block;
    }

    [Fact]
    public void Q6_K_DecodesHandComputedValues()
    {
        // ql bytes all 0x21 (low 1, high 2), qh bytes all 0b11_10_01_00.
        var block = Q6KBlock(new int[256]);
        Array.Fill(block, (byte)0x21, 0, 128);
        Array.Fill(block, (byte)0xE4, 128, 64);
        var y = new float[256];
        BlockQ6_K.Dequantize(block, y);
        Assert.Equal(-15.5f, y[0]);    // q = 1 | 0 << 4 = 1:    0.25·2·(1 − 32)
        Assert.Equal(11.25f, y[32]);   // q = 1 | 1 << 4 = 17:   0.25·(−3)·(17 − 32)
        Assert.Equal(2f, y[64]);       // q = 2 | 2 << 4 = 34:   0.25·4·(34 − 32)
        Assert.Equal(22.5f, y[96]);    // q = 2 | 3 << 4 = 50:   0.25·5·(50 − 32)
        Assert.Equal(27f, y[240]);     // second half, group 15: q = 50, 0.25·6·(50 − 32)
        Assert.Equal(-984.25f, y[128]); // second half, group 8: q = 1, 0.25·127·(1 − 32)
    }

    [Fact]
    public void Q6_K_DecodesEveryQuantInGgmlOrder()
    {
        int[] q = Enumerable.Range(0, 256).Select(i => (i * 7 + 3) % 64).ToArray();
        var y = new float[256];
        BlockQ6_K.Dequantize(Q6KBlock(q), y);
        for (int i = 0; i < 256; i++) Assert.Equal(0.25f * Q6KScales[i / 16] * (q[i] - 32), y[i]);
    }

    [Fact]
    public unsafe void MXFP4_scales_are_ggml_s_for_every_exponent_scalar_and_packed()
    {
        // ggml's GGML_E8M0_TO_FP32_HALF: 2^(e − 128), subnormal below e = 2, 2^127 at e = 255.
        Assert.Equal(MathF.ScaleB(1f, -128), BlockMXFP4.Scale(0));
        Assert.Equal(MathF.ScaleB(1f, -127), BlockMXFP4.Scale(1));
        Assert.Equal(0.5f, BlockMXFP4.Scale(127));
        Assert.Equal(1f, BlockMXFP4.Scale(128));
        Assert.Equal(MathF.ScaleB(1f, 127), BlockMXFP4.Scale(255));
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        byte* e = stackalloc byte[256];
        for (int i = 0; i < 256; i++) e[i] = (byte)i;
        for (int i = 0; i < 256; i += 8)
        {
            var packed = BlockMXFP4.Scales(e + i);
            for (int j = 0; j < 8; j++) Assert.Equal(BlockMXFP4.Scale((byte)(i + j)), System.Runtime.Intrinsics.Vector256.GetElement(packed, j));
        }
    }
}
