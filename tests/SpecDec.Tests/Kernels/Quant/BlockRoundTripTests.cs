using SpecDec.Kernels.Quant;

namespace SpecDec.Tests.Kernels.Quant;

/// <summary>Quantize → dequantize on seeded Gaussian data: error bounds, their ordering, edge cases, bad input.</summary>
public class BlockRoundTripTests
{
    delegate void Quantizer(ReadOnlySpan<float> src, Span<byte> dst);
    delegate void Dequantizer(ReadOnlySpan<byte> src, Span<float> dst);

    static readonly Dictionary<string, (Quantizer Q, Dequantizer D, int Size, int Bytes)> Formats = new()
    {
        ["Q4_0"] = (BlockQ4_0.Quantize, BlockQ4_0.Dequantize, BlockQ4_0.Size, BlockQ4_0.Bytes),
        ["Q4_K"] = (BlockQ4_K.Quantize, BlockQ4_K.Dequantize, BlockQ4_K.Size, BlockQ4_K.Bytes),
        ["Q6_K"] = (BlockQ6_K.Quantize, BlockQ6_K.Dequantize, BlockQ6_K.Size, BlockQ6_K.Bytes),
        ["Q8_0"] = (BlockQ8_0.Quantize, BlockQ8_0.Dequantize, BlockQ8_0.Size, BlockQ8_0.Bytes),
    };

    static float[] RoundTrip(string type, float[] x)
    {
        var f = Formats[type];
        var packed = new byte[x.Length / f.Size * f.Bytes];
        f.Q(x, packed);
        var y = new float[x.Length];
        f.D(packed, y);
        return y;
    }

    static double RelativeRmse(string type, float[] x) => QuantTestData.Rmse(x, RoundTrip(type, x)) / QuantTestData.Rmse(x, new float[x.Length]);

    // Uniform quantization of a Gaussian: 4 bits over ±max|x| of a block (≈ ±2.5σ for 32 values) leaves an
    // RMS error of about step/√12 ≈ 0.09σ; 6 bits about 4x less, 8 bits about 16x less. The K-quants'
    // searched scales and per-sub-block mins must beat Q4_0's plain max/−8 scale.
    [Theory]
    [InlineData("Q4_0", 0.06, 0.12)]
    [InlineData("Q4_K", 0.05, 0.10)]
    [InlineData("Q6_K", 0.012, 0.025)]
    [InlineData("Q8_0", 0.002, 0.008)]
    public void RoundTripErrorIsWhatTheBitWidthAllows(string type, double lower, double upper)
    {
        float[] x = QuantTestData.Normal(64 * 1024, seed: 1, std: 0.02f);
        double rel = RelativeRmse(type, x);
        Assert.InRange(rel, lower, upper);
    }

    [Fact]
    public void MoreBitsAndSmarterScalesGiveLessError()
    {
        float[] x = QuantTestData.Normal(32 * 1024, seed: 2);
        double q40 = RelativeRmse("Q4_0", x), q4k = RelativeRmse("Q4_K", x), q6k = RelativeRmse("Q6_K", x), q80 = RelativeRmse("Q8_0", x);
        Assert.True(q4k < q40, $"Q4_K {q4k} vs Q4_0 {q40}");
        Assert.True(q6k < q4k / 2, $"Q6_K {q6k} vs Q4_K {q4k}");
        Assert.True(q80 < q6k, $"Q8_0 {q80} vs Q6_K {q6k}");
    }

    [Fact]
    public void Q4_K_FitsOffsetDataWithItsMins()
    {
        // All-positive data: Q4_0 wastes its negative half, Q4_K's min absorbs the offset.
        float[] x = QuantTestData.Normal(16 * 1024, seed: 3).Select(v => 5 + v).ToArray();
        Assert.True(RelativeRmse("Q4_K", x) < RelativeRmse("Q4_0", x) / 2);
    }

    [Theory]
    [InlineData("Q4_0")]
    [InlineData("Q4_K")]
    [InlineData("Q6_K")]
    public void ZerosStayZeroAndValuesOnTheGridAreExact(string type)
    {
        int size = Formats[type].Size;
        Assert.All(RoundTrip(type, new float[2 * size]), v => Assert.Equal(0f, v));

        // Integers −8..7 times a power of two are representable in every format: Q4_0 exactly (d = 0.25),
        // Q6_K exactly, Q4_K to within its 6-bit scale resolution.
        float[] x = Enumerable.Range(0, 2 * size).Select(i => 0.25f * (i * 5 % 16 - 8)).ToArray();
        float[] y = RoundTrip(type, x);
        double tolerance = type == "Q4_K" ? 0.02 : 0;
        for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= tolerance, $"{type}[{i}]: {x[i]} → {y[i]}");
    }

    [Theory]
    [InlineData("Q4_0", 100)]
    [InlineData("Q4_K", 300)]
    [InlineData("Q6_K", 128)]
    public void RaggedLengthsAreRefusedWithTheTypeAndBlockSize(string type, int length)
    {
        var f = Formats[type];
        var e = Assert.Throws<ArgumentException>(() => f.Q(new float[length], new byte[4096]));
        Assert.Contains(type, e.Message);
        Assert.Contains(f.Size.ToString(), e.Message);
        e = Assert.Throws<ArgumentException>(() => f.D(new byte[4096], new float[length]));
        Assert.Contains(type, e.Message);
    }

    [Theory]
    [InlineData("Q4_0")]
    [InlineData("Q4_K")]
    [InlineData("Q6_K")]
    public void ShortBuffersAreRefused(string type)
    {
        var f = Formats[type];
        Assert.Throws<ArgumentException>(() => f.Q(new float[2 * f.Size], new byte[2 * f.Bytes - 1]));
        Assert.Throws<ArgumentException>(() => f.D(new byte[2 * f.Bytes - 1], new float[2 * f.Size]));
    }
}
