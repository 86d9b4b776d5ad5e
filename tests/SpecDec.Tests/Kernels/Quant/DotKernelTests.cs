using SpecDec.Kernels;
using SpecDec.Kernels.Quant;

namespace SpecDec.Tests.Kernels.Quant;

/// <summary>
/// The integer dot-product kernels: the scalar reference equals the float dot product of the dequantized
/// weights and activations, and every SIMD level this CPU runs equals the scalar reference, over several
/// super-blocks, odd block counts, and more activation rows than one pass of the kernel takes.
/// </summary>
public unsafe class DotKernelTests
{
    delegate void RowsKernel(byte* w, long rowBytes, int row0, int row1, in Int8Rows x, float* y, int ldy, SimdLevel level);

    sealed record Case(string Type, int Size, int Bytes, BlockRoundTripQuantizer Quantize, BlockRoundTripDequantizer Dequantize,
        RowsKernel Kernel, bool KActivations);

    delegate void BlockRoundTripQuantizer(ReadOnlySpan<float> src, Span<byte> dst);
    delegate void BlockRoundTripDequantizer(ReadOnlySpan<byte> src, Span<float> dst);

    static Case Get(string type) => type switch
    {
        "Q4_0" => new(type, BlockQ4_0.Size, BlockQ4_0.Bytes, BlockQ4_0.Quantize, BlockQ4_0.Dequantize, Q4_0Dot.Rows, false),
        "Q4_K" => new(type, BlockQ4_K.Size, BlockQ4_K.Bytes, BlockQ4_K.Quantize, BlockQ4_K.Dequantize, Q4_KDot.Rows, true),
        "Q6_K" => new(type, BlockQ6_K.Size, BlockQ6_K.Bytes, BlockQ6_K.Quantize, BlockQ6_K.Dequantize, Q6_KDot.Rows, true),
        _ => throw new ArgumentException(type),
    };

    /// <summary>X quantized the way the kernel reads it; scales and sums sized for either activation form.</summary>
    sealed class Activations(int t, int k, bool q8k)
    {
        public readonly sbyte[] Q = new sbyte[t * k];
        public readonly float[] Scale = new float[t * k / 32];
        public readonly short[] Sums = new short[t * k / 16];
        public readonly float[] Dequantized = new float[t * k];
        public readonly int T = t, K = k, Block = q8k ? 256 : 32;
    }

    static Activations Quantize(float[] x, int t, int k, bool q8k)
    {
        var a = new Activations(t, k, q8k);
        fixed (float* px = x)
        fixed (sbyte* q = a.Q)
        fixed (float* d = a.Scale)
        fixed (short* s = a.Sums)
        {
            for (int c = 0; c < t; c++)
            {
                if (q8k) ActivationQ8K.Quantize(px + c * k, k, q + c * k, d + c * (k / 256), s + c * (k / 16), SimdLevel.Scalar);
                else QuantizeQ8_0Style(px + c * k, k, q + c * k, d + c * (k / 32));
            }
        }
        for (int i = 0; i < t * k; i++) a.Dequantized[i] = a.Q[i] * a.Scale[i / a.Block];
        return a;
    }

    /// <summary>Int8 blocks of 32 with f32 scales (the form the engine's ActivationQ8 produces).</summary>
    static void QuantizeQ8_0Style(float* x, int k, sbyte* q, float* d)
    {
        for (int b = 0; b < k / 32; b++)
        {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = MathF.Max(amax, MathF.Abs(x[b * 32 + i]));
            d[b] = amax / 127;
            for (int i = 0; i < 32; i++) q[b * 32 + i] = (sbyte)MathF.Round(d[b] != 0 ? x[b * 32 + i] / d[b] : 0);
        }
    }

    static float[] Run(Case c, byte[] w, int n, Activations a, SimdLevel level)
    {
        var y = new float[a.T * n];
        fixed (byte* pw = w)
        fixed (sbyte* q = a.Q)
        fixed (float* d = a.Scale)
        fixed (short* s = a.Sums)
        fixed (float* py = y)
        {
            var rows = new Int8Rows(a.T, a.K, q, d, c.KActivations ? s : null);
            // Two calls over disjoint row ranges, as the worker pool splits them.
            c.Kernel(pw, a.K / c.Size * c.Bytes, 0, n / 2, rows, py, n, level);
            c.Kernel(pw, a.K / c.Size * c.Bytes, n / 2, n, rows, py, n, level);
        }
        return y;
    }

    public static TheoryData<string, int, int, int> Shapes => new()
    {
        { "Q4_0", 96, 5, 1 },     // 3 blocks: the 512-bit path's odd tail
        { "Q4_0", 512, 7, 17 },   // 17 rows: one full pass of 16 and a remainder
        { "Q4_K", 256, 3, 1 },
        { "Q4_K", 768, 6, 17 },
        { "Q4_K", 1024, 2, 4 },
        { "Q6_K", 256, 3, 1 },
        { "Q6_K", 768, 6, 17 },
        { "Q6_K", 1024, 2, 4 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ScalarKernelIsTheDotProductOfTheDequantizedOperands(string type, int k, int n, int t)
    {
        Case c = Get(type);
        byte[] w = new byte[n * k / c.Size * c.Bytes];
        float[] wf = QuantTestData.Normal(n * k, seed: k + n, std: 0.02f);
        c.Quantize(wf, w);
        float[] wd = new float[n * k];
        c.Dequantize(w, wd);
        Activations a = Quantize(QuantTestData.Normal(t * k, seed: 7 * k + t), t, k, c.KActivations);

        float[] y = Run(c, w, n, a, SimdLevel.Scalar);
        for (int r = 0; r < t; r++)
        {
            for (int j = 0; j < n; j++)
            {
                double expected = 0, magnitude = 0;
                for (int i = 0; i < k; i++)
                {
                    expected += (double)wd[j * k + i] * a.Dequantized[r * k + i];
                    magnitude += Math.Abs((double)wd[j * k + i] * a.Dequantized[r * k + i]);
                }
                Assert.True(Math.Abs(y[r * n + j] - expected) <= 1e-5 * magnitude, $"{type} row {r} col {j}: {y[r * n + j]} vs {expected}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SimdKernelsMatchTheScalarTwin(string type, int k, int n, int t)
    {
        Case c = Get(type);
        byte[] w = new byte[n * k / c.Size * c.Bytes];
        c.Quantize(QuantTestData.Normal(n * k, seed: 3 * k + n, std: 0.02f), w);
        Activations a = Quantize(QuantTestData.Normal(t * k, seed: 11 * k + t), t, k, c.KActivations);
        float[] expected = Run(c, w, n, a, SimdLevel.Scalar);
        foreach (SimdLevel level in Simd.Supported())
        {
            float[] y = Run(c, w, n, a, level);
            // Same integer sums; only the order of the float additions differs.
            for (int i = 0; i < y.Length; i++)
                Assert.True(Math.Abs(y[i] - expected[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), $"{type} {level} [{i}]: {y[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void ActivationQ8K_MatchesOnEveryLevelAndRoundsToTheNearestStep()
    {
        const int k = 768;
        float[] x = QuantTestData.Normal(k, seed: 5);
        x[300] = 0; // a block with an exact zero and one of all zeros
        Array.Clear(x, 512, 256);
        var q = new sbyte[k];
        var d = new float[3];
        var s = new short[48];
        fixed (float* px = x)
        fixed (sbyte* pq = q)
        fixed (float* pd = d)
        fixed (short* ps = s)
        {
            ActivationQ8K.Quantize(px, k, pq, pd, ps, SimdLevel.Scalar);
            // ggml's convention: d has the opposite sign of the block's largest-magnitude value, which maps to −127.
            for (int i = 0; i < k; i++) Assert.True(Math.Abs(x[i] - q[i] * d[i / 256]) <= Math.Abs(d[i / 256]) / 2 * 1.0001f);
            for (int b = 0; b < 2; b++)
            {
                int m = 0;
                for (int i = 1; i < 256; i++) if (Math.Abs(x[256 * b + i]) > Math.Abs(x[256 * b + m])) m = i;
                Assert.Equal(-127, q[256 * b + m]);
            }
            for (int g = 0; g < 48; g++)
            {
                int sum = 0;
                for (int i = 16 * g; i < 16 * g + 16; i++) sum += q[i];
                Assert.Equal(sum, s[g]);
            }
            Assert.Equal(0f, d[2]);
            foreach (SimdLevel level in Simd.Supported())
            {
                var q2 = new sbyte[k];
                var d2 = new float[3];
                var s2 = new short[48];
                fixed (sbyte* pq2 = q2)
                fixed (float* pd2 = d2)
                fixed (short* ps2 = s2)
                    ActivationQ8K.Quantize(px, k, pq2, pd2, ps2, level);
                Assert.Equal(q, q2);
                Assert.Equal(d, d2);
                Assert.Equal(s, s2);
            }
        }
    }

    [Fact]
    public void ActivationQ8K_RefusesRaggedRows()
    {
        var e = Assert.Throws<ArgumentException>(() =>
        {
            float* x = stackalloc float[300];
            ActivationQ8K.Quantize(x, 300, null, null, null, SimdLevel.Scalar);
        });
        Assert.Contains("256", e.Message);
    }
}
