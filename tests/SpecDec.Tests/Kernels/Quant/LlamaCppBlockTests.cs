using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Kernels.Quant;
using SpecDec.Tensors;
using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Kernels.Quant;

/// <summary>
/// Every weight type against llama.cpp's own output (tests/fixtures/llamacpp-quants, written by make_blocks.c
/// through ggml's API): our quantizer writes ggml's bytes, our decoder gives ggml's values, and our matmul on
/// ggml's bytes gives ggml's vec_dot within the activations' int8 rounding, at every SIMD level.
/// </summary>
public unsafe class LlamaCppBlockTests
{
    sealed record Case(GgmlType Type, int Rows, int K, float[] X, byte[] Q, float[] Dequantized, float[] A, float[] Dots)
    {
        public override string ToString() => Type.ToString();
    }

    static readonly Lazy<Dictionary<GgmlType, Case>> Cases = new(Load);

    static Dictionary<GgmlType, Case> Load()
    {
        string path = Path.Combine(RepoPaths.Root, "tests", "fixtures", "llamacpp-quants", "blocks.bin");
        using var r = new BinaryReader(File.OpenRead(path));
        var cases = new Dictionary<GgmlType, Case>();
        while (r.BaseStream.Position < r.BaseStream.Length)
        {
            var type = (GgmlType)r.ReadInt32();
            int rows = r.ReadInt32(), k = r.ReadInt32();
            float[] Floats(int n) => Enumerable.Range(0, n).Select(_ => r.ReadSingle()).ToArray();
            float[] x = Floats(rows * k);
            byte[] q = r.ReadBytes((int)GgmlTypeInfo.ByteCount(type, k) * rows);
            cases[type] = new Case(type, rows, k, x, q, Floats(rows * k), Floats(k), Floats(rows));
        }
        return cases;
    }

    public static TheoryData<GgmlType> Types() => new(GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.IQ4_NL, GgmlType.MXFP4,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q5_K, GgmlType.IQ4_XS);

    [Theory]
    [MemberData(nameof(Types))]
    public void The_quantizer_writes_llama_cpp_s_bytes(GgmlType type)
    {
        Case c = Cases.Value[type];
        int rowBytes = c.Q.Length / c.Rows;
        var q = new byte[c.Q.Length];
        for (int r = 0; r < c.Rows; r++) WeightQuantizer.Row(type, c.X.AsSpan(r * c.K, c.K), q.AsSpan(r * rowBytes, rowBytes));
        int first = q.AsSpan().CommonPrefixLength(c.Q);
        Assert.True(first == q.Length, $"{type}: byte {first} (row {first / rowBytes}) differs: {(first < q.Length ? q[first] : 0)} vs llama.cpp {(first < q.Length ? c.Q[first] : 0)}");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Dequantizing_gives_llama_cpp_s_values(GgmlType type)
    {
        Case c = Cases.Value[type];
        int rowBytes = c.Q.Length / c.Rows;
        var y = new float[c.K];
        fixed (byte* q = c.Q)
        fixed (float* p = y)
            for (int r = 0; r < c.Rows; r++)
            {
                Dequantize.Row(type, q + r * rowBytes, p, c.K, SimdLevel.Scalar);
                for (int i = 0; i < c.K; i++)
                {
                    float expected = c.Dequantized[r * c.K + i];
                    // ggml's C may fuse d·q − m into one rounding; we round twice: at most an ulp or so apart.
                    Assert.True(Math.Abs(y[i] - expected) <= 2e-7f * Math.Abs(expected) + 1e-12f, $"{type} [{r},{i}]: {y[i]} vs llama.cpp {expected}");
                }
            }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void The_matmul_gives_llama_cpp_s_dot_products(GgmlType type)
    {
        Case c = Cases.Value[type];
        using var w = new NativeBuffer<byte>(c.Q.Length);
        c.Q.CopyTo(w.Span);
        using NativeBuffer<float> a = KernelTestData.Native(c.A);
        using var y = new NativeBuffer<float>(c.Rows);
        using var pool = new WorkerPool(1);
        using var workspace = new MatmulWorkspace(1, c.K, 1);
        var file = new LinearWeight(type, w.Pointer, c.Rows, c.K);
        (LinearWeight Weight, NativeBuffer<byte> Buffer)? packed = PackedWeights.HasLayout(type) ? PackedWeights.Pack(file) : null;
        using NativeBuffer<byte>? packedBuffer = packed?.Buffer;
        // Both sides round the activations to int8 (ggml with its f16 scale) and sum in different orders, the packed
        // layouts in theirs: agreement to well under one activation step.
        const double tolerance = 2e-3;
        foreach (LinearWeight weight in packed is null ? new[] { file } : new[] { file, packed.Value.Weight })
            foreach (SimdLevel level in Simd.Supported())
            {
                Matmul.Run(pool, workspace, a.Pointer, 1, level, new MatmulPart(weight, y.Pointer));
                for (int r = 0; r < c.Rows; r++)
                {
                    double magnitude = 0;
                    for (int i = 0; i < c.K; i++) magnitude += Math.Abs(c.Dequantized[r * c.K + i] * c.A[i]);
                    Assert.True(Math.Abs(y.Span[r] - c.Dots[r]) <= tolerance * magnitude + 1e-9,
                        $"{type} {level} packed {weight.Packed != null} row {r}: {y.Span[r]} vs llama.cpp {c.Dots[r]} (magnitude {magnitude})");
                }
            }
    }
}
