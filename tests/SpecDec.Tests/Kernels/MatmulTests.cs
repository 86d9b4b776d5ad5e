using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Kernels.Quant;
using SpecDec.Tensors;

namespace SpecDec.Tests.Kernels;

public unsafe class MatmulTests : IDisposable
{
    readonly WorkerPool _pool = new(3);
    readonly MatmulWorkspace _workspace = new(64, 1024, 3);

    public void Dispose()
    {
        _pool.Dispose();
        _workspace.Dispose();
    }

    /// <summary>Type, K, N, and whether the weights are repacked (<see cref="PackedWeights"/>).</summary>
    public static TheoryData<GgmlType, int, int, bool> Shapes()
    {
        var data = new TheoryData<GgmlType, int, int, bool>();
        foreach (var (type, k, n) in Unpacked())
        {
            data.Add(type, k, n, false);
            if (PackedWeights.HasLayout(type)) data.Add(type, k, n, true);
        }
        data.Add(GgmlType.Q8_0, 64, 8, true);  // one whole group
        data.Add(GgmlType.Q8_0, 64, 13, true); // a ragged last group
        data.Add(GgmlType.Q4_K, 512, 16, true);
        data.Add(GgmlType.Q4_K, 256, 13, true);
        data.Add(GgmlType.Q6_K, 512, 16, true);
        data.Add(GgmlType.Q5_K, 256, 13, true);
        data.Add(GgmlType.Q5_0, 64, 13, true);
        data.Add(GgmlType.IQ4_NL, 64, 13, true);
        data.Add(GgmlType.MXFP4, 64, 13, true);
        data.Add(GgmlType.Q3_K, 256, 13, true);
        data.Add(GgmlType.IQ4_XS, 512, 13, true);
        return data;
    }

    static List<(GgmlType Type, int K, int N)> Unpacked()
    {
        var data = new List<(GgmlType, int, int)>();
        foreach (GgmlType type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16 })
        {
            data.Add((type, 37, 5));   // K shorter than one 512-bit stride × 4, odd
            data.Add((type, 100, 33)); // K not a multiple of 16 or 64
            data.Add((type, 1000, 7));
        }
        data.Add((GgmlType.Q8_0, 32, 5));
        data.Add((GgmlType.Q8_0, 96, 33));  // odd block count
        data.Add((GgmlType.Q8_0, 800, 7));  // K not a multiple of 64
        data.Add((GgmlType.Q8_0, 1024, 65));
        data.Add((GgmlType.Q4_0, 96, 33));  // odd block count: the 512-bit path's tail
        data.Add((GgmlType.Q4_0, 1024, 7));
        foreach (GgmlType type in new[] { GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.IQ4_NL, GgmlType.MXFP4 })
        {
            data.Add((type, 96, 33));       // odd block count: the 512-bit path's tail
            data.Add((type, 1024, 7));
        }
        foreach (GgmlType type in new[] { GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q5_K, GgmlType.IQ4_XS })
        {
            data.Add((type, 256, 5));
            data.Add((type, 768, 33));      // several super-blocks
        }
        return data;
    }

    // Every pass length of the packed kernels (1–7 rows), 8 in two passes, several uneven passes (17), and many (64).
    static readonly int[] RowCounts = [1, 2, 3, 4, 5, 6, 7, 8, 17, 64];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_simd_level_matches_the_scalar_twin(GgmlType type, int k, int n, bool packed)
    {
        var rng = new Random(k * 31 + n);
        using NativeBuffer<byte> w = KernelTestData.Weights(type, KernelTestData.Random(rng, n * k), n, k);
        using var weight = new TestWeight(type, w, n, k, packed);
        foreach (int t in RowCounts)
        {
            float[] xs = KernelTestData.Random(rng, t * k, 3f);
            using NativeBuffer<float> x = KernelTestData.Native(xs);
            float[] scalar = Run(weight.Weight, x, t, SimdLevel.Scalar);
            float[] wd = KernelTestData.Decoded(type, w, n, k);
            foreach (var (level, path) in Paths())
            {
                float[] y = Run(weight.Weight, x.Pointer, t, level, path);
                // The packed kernel's lanes are its rows, summed in the scalar twin's order: equal bits.
                if (packed) Assert.Equal(scalar, y);
                for (int r = 0; r < t; r++)
                    for (int c = 0; c < n; c++)
                    {
                        double magnitude = 0;
                        for (int i = 0; i < k; i++) magnitude += Math.Abs(wd[c * k + i] * xs[r * k + i]);
                        Assert.True(Math.Abs(y[r * n + c] - scalar[r * n + c]) <= 3e-5 * magnitude + 1e-6,
                            $"{type} {level} {path} K={k} N={n} T={t} [{r},{c}]: {y[r * n + c]} vs scalar {scalar[r * n + c]}");
                    }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_scalar_twin_computes_X_times_W_transposed(GgmlType type, int k, int n, bool packed)
    {
        var rng = new Random(k * 17 + n);
        using NativeBuffer<byte> w = KernelTestData.Weights(type, KernelTestData.Random(rng, n * k), n, k);
        float[] wd = KernelTestData.Decoded(type, w, n, k);
        const int t = 3;
        float[] xs = KernelTestData.Random(rng, t * k, 3f);
        using NativeBuffer<float> x = KernelTestData.Native(xs);
        using var weight = new TestWeight(type, w, n, k, packed);
        float[] y = Run(weight.Weight, x, t, SimdLevel.Scalar);
        for (int r = 0; r < t; r++)
            for (int c = 0; c < n; c++)
            {
                double exact = 0, magnitude = 0, quantError = 0;
                for (int i = 0; i < k; i++)
                {
                    exact += (double)wd[c * k + i] * xs[r * k + i];
                    magnitude += Math.Abs(wd[c * k + i] * xs[r * k + i]);
                }
                // Activations are rounded to int8 per block (32 for Q8_0/Q4_0, 256 for the K-quants' Q8_K):
                // each x moves by at most half a step.
                int block = GgmlTypeInfo.BlockSize(type) switch { 1 => 0, 32 => 32, _ => 256 };
                for (int b = 0; block > 0 && b < k / block; b++)
                {
                    float amax = 0;
                    for (int i = 0; i < block; i++) amax = Math.Max(amax, Math.Abs(xs[r * k + b * block + i]));
                    for (int i = 0; i < block; i++) quantError += Math.Abs(wd[c * k + b * block + i]) * amax / 127 / 2;
                }
                Assert.True(Math.Abs(y[r * n + c] - exact) <= quantError * 1.001 + 1e-5 * magnitude + 1e-6,
                    $"{type} K={k} N={n} [{r},{c}]: {y[r * n + c]} vs exact {exact}");
            }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_row_gets_the_same_bits_whatever_T_is_and_wherever_it_falls(GgmlType type, int k, int n, bool packed)
    {
        // Verifying k drafts in one call of k+1 rows must reproduce single-token decoding bit for bit, so a row's
        // result may not depend on the batch around it: full passes, shorter tail passes and one-row passes alike.
        var rng = new Random(k * 13 + n);
        using NativeBuffer<byte> w = KernelTestData.Weights(type, KernelTestData.Random(rng, n * k), n, k);
        using var packedWeight = new TestWeight(type, w, n, k, packed);
        LinearWeight weight = packedWeight.Weight;
        const int rows = 19;
        using NativeBuffer<float> x = KernelTestData.Native(KernelTestData.Random(rng, rows * k, 3f));
        foreach (var (level, path) in Paths())
        {
            var single = new float[rows][];
            for (int r = 0; r < rows; r++) single[r] = Run(weight, x.Pointer + (long)r * k, 1, level, path);
            foreach (int t in new[] { 2, 3, 4, 5, 6, 7, 8, 15, 17, 19 })
                for (int start = 0; start + t <= rows; start += Math.Max(1, rows - t))
                {
                    float[] y = Run(weight, x.Pointer + (long)start * k, t, level, path);
                    for (int r = 0; r < t; r++)
                        Assert.True(single[start + r].AsSpan().SequenceEqual(y.AsSpan(r * n, n)),
                            $"{type} {level} {path} K={k} N={n}: row {start + r} in a call of T={t} differs from T=1");
                }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    public void Packed_K_quants_at_the_largest_quants_and_scales_match_the_scalar_twin(GgmlType type)
    {
        // Without VNNI the K-quant kernels sum vpmaddubsw's pairs in int16 before scaling (8 chunks of nibbles, 2 of 6-bit
        // quants a partial): every quant and scale at its largest against activations of ±127 is the sum closest to the
        // int16 limit (−30480 and −32004), which must still give the scalar twin's bits.
        const int k = 512, n = 16;
        int bytes = type == GgmlType.Q4_K ? BlockQ4_K.Bytes : BlockQ6_K.Bytes;
        using var w = new NativeBuffer<byte>((long)n * (k / 256) * bytes);
        w.Span.Fill(0xFF);                                  // nibbles 15, 6-bit scales and mins 63; Q6_K quants 63
        for (int b = 0; b < n * (k / 256); b++)
        {
            Span<byte> block = w.Span.Slice(b * bytes, bytes);
            if (type == GgmlType.Q4_K)
            {
                BitConverter.TryWriteBytes(block[BlockQ4_K.DOffset..], (Half)0.5f);
                BitConverter.TryWriteBytes(block[BlockQ4_K.DMinOffset..], (Half)0.25f);
            }
            else
            {
                block.Slice(BlockQ6_K.ScalesOffset, 16).Fill(127);
                BitConverter.TryWriteBytes(block[BlockQ6_K.DOffset..], (Half)0.5f);
            }
        }
        using var weight = new TestWeight(type, w, n, k, packed: true);
        // Row 0 quantizes to −127 everywhere; row 1's first value is the largest in magnitude and negative, so the rest are +127.
        var xs = new float[2 * k];
        xs.AsSpan().Fill(1f);
        xs[k] = -1f;
        using NativeBuffer<float> x = KernelTestData.Native(xs);
        float[] scalar = Run(weight.Weight, x, 2, SimdLevel.Scalar);
        foreach (var (level, path) in Paths())
            Assert.Equal(scalar, Run(weight.Weight, x.Pointer, 2, level, path));
        Assert.All(scalar, v => Assert.True(v != 0 && float.IsFinite(v)));
    }

    [Fact]
    public void Packed_Q8_0_at_the_largest_products_matches_the_scalar_twin_for_every_pass_form()
    {
        // Quants of −128 and 127 against activations of ±127: without VNNI, |w| = 128 times the activations carrying w's sign
        // puts vpmaddubsw's pair sums at 32,512, next to int16's limit, and with VNNI the stored u = w + 128 reaches 0 and 255
        // against the bias. Every pass form (one row, two chains, one chain, several passes, AVX-512BW's pairs) must give
        // the scalar twin's bits.
        const int k = 256, n = 16;
        using var w = new NativeBuffer<byte>((long)n * (k / 32) * BlockQ8_0.Bytes);
        for (int r = 0; r < n; r++)
            for (int b = 0; b < k / 32; b++)
            {
                Span<byte> block = w.Span.Slice((r * (k / 32) + b) * BlockQ8_0.Bytes, BlockQ8_0.Bytes);
                BitConverter.TryWriteBytes(block, (Half)(0.25f * (1 + r % 3)));
                for (int i = 0; i < 32; i++) block[2 + i] = (byte)(sbyte)((r + i / 2) % 3 == 0 ? 127 : -128); // runs of equal pairs
            }
        using var weight = new TestWeight(GgmlType.Q8_0, w, n, k, packed: true);
        const int rows = 40;
        var xs = new float[rows * k];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < k; i++) xs[r * k + i] = (r + i / 4) % 3 == 0 ? -1f : 1f; // every activation quantizes to ±127
        using NativeBuffer<float> x = KernelTestData.Native(xs);
        foreach (int t in new[] { 1, 8, 9, 17, 25, 40 })
        {
            float[] scalar = Run(weight.Weight, x.Pointer, t, SimdLevel.Scalar, KernelPath.Scalar);
            foreach (var (level, path) in Paths())
                Assert.Equal(scalar, Run(weight.Weight, x.Pointer, t, level, path));
            Assert.All(scalar, v => Assert.True(v != 0 && float.IsFinite(v)));
        }
    }

    [Fact]
    public void Parts_of_different_types_in_one_call_equal_separate_calls() =>
        OneCallEqualsSeparateCalls(seed: 5, k: 96, t: 8, (GgmlType.Q8_0, 40, false), (GgmlType.F16, 9, false), (GgmlType.BF16, 17, false));

    [Fact]
    public void A_Q4_K_M_style_call_mixing_Q4_K_Q6_K_and_Q8_0_equals_separate_calls() =>
        // attn_q/attn_k in Q4_K, attn_v in Q6_K, as llama.cpp's Q4_K_M writes them; Q8_0 needs the other
        // activation form, so both are made in one call.
        OneCallEqualsSeparateCalls(seed: 6, k: 512, t: 5, (GgmlType.Q4_K, 24, true), (GgmlType.Q6_K, 8, true), (GgmlType.Q6_K, 16, false),
            (GgmlType.Q8_0, 8, false));

    [Fact]
    public void Packed_and_file_layout_Q8_0_parts_in_one_call_equal_separate_calls() =>
        OneCallEqualsSeparateCalls(seed: 8, k: 256, t: 7, (GgmlType.Q8_0, 24, true), (GgmlType.Q8_0, 13, false), (GgmlType.F32, 5, false));

    void OneCallEqualsSeparateCalls(int seed, int k, int t, params (GgmlType Type, int Rows, bool Packed)[] parts)
    {
        var rng = new Random(seed);
        var data = new List<NativeBuffer<byte>>();
        var weights = new List<TestWeight>();
        var outputs = new List<NativeBuffer<float>>();
        try
        {
            foreach (var (type, rows, packed) in parts)
            {
                data.Add(KernelTestData.Weights(type, KernelTestData.Random(rng, rows * k), rows, k));
                weights.Add(new TestWeight(type, data[^1], rows, k, packed));
                outputs.Add(new NativeBuffer<float>(t * rows));
            }
            using NativeBuffer<float> x = KernelTestData.Native(KernelTestData.Random(rng, t * k));
            var call = new MatmulPart[parts.Length];
            for (int p = 0; p < parts.Length; p++) call[p] = new MatmulPart(weights[p].Weight, outputs[p].Pointer);
            Matmul.Run(_pool, _workspace, x.Pointer, t, Simd.Best, call);
            for (int p = 0; p < parts.Length; p++)
                Assert.Equal(Run(weights[p].Weight, x, t, Simd.Best), outputs[p].Span.ToArray());
        }
        finally
        {
            foreach (IDisposable d in outputs.Cast<IDisposable>().Concat(weights).Concat(data)) d.Dispose();
        }
    }

    [Fact]
    public void A_call_in_steady_state_allocates_nothing()
    {
        var rng = new Random(9);
        const int k = 256, n = 64, t = 8;
        using NativeBuffer<byte> w = KernelTestData.Weights(GgmlType.Q8_0, KernelTestData.Random(rng, n * k), n, k);
        var weight = new LinearWeight(GgmlType.Q8_0, w.Pointer, n, k);
        using NativeBuffer<float> x = KernelTestData.Native(KernelTestData.Random(rng, t * k));
        using var y = new NativeBuffer<float>(t * n);
        Matmul.Run(_pool, _workspace, x.Pointer, t, Simd.Best, new MatmulPart(weight, y.Pointer));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) Matmul.Run(_pool, _workspace, x.Pointer, t, Simd.Best, new MatmulPart(weight, y.Pointer));
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Packing_keeps_every_weight_and_scale_and_pads_the_last_group_with_zero_rows()
    {
        var rng = new Random(3);
        const int k = 64, n = 11;
        using NativeBuffer<byte> w = KernelTestData.Weights(GgmlType.Q8_0, KernelTestData.Random(rng, n * k), n, k);
        using var packed = new TestWeight(GgmlType.Q8_0, w, n, k, packed: true);
        byte* p = packed.Weight.Packed;
        const int groupBlock = 16 + 8 * 32;
        Assert.Equal(2L * (k / 32) * groupBlock, PackedGroups.ByteCount<Q8_0Packed>(n, k));
        for (int row = 0; row < 16; row++)
            for (int b = 0; b < k / 32; b++)
            {
                byte* block = p + ((row / 8) * (k / 32) + b) * groupBlock;
                byte* source = row < n ? w.Pointer + row * 2L * 34 + b * 34 : null;
                Assert.Equal(source is null ? 0 : *(ushort*)source, ((ushort*)block)[row % 8]);
                for (int i = 0; i < 32; i++)
                    Assert.Equal((source is null ? 0 : ((sbyte*)source)[2 + i]) + 128, block[16 + (i / 4) * 32 + (row % 8) * 4 + i % 4]);
            }
    }

    /// <summary>A weight in file layout, optionally with its packed copy.</summary>
    sealed class TestWeight : IDisposable
    {
        readonly NativeBuffer<byte>? _packed;

        public TestWeight(GgmlType type, NativeBuffer<byte> data, int rows, int columns, bool packed)
        {
            Weight = new LinearWeight(type, data.Pointer, rows, columns).WithFiniteHalvesChecked(); // as the model loader does
            if (packed) (Weight, _packed) = PackedWeights.Pack(Weight);
        }

        public LinearWeight Weight { get; }

        public void Dispose() => _packed?.Dispose();
    }

    /// <summary>
    /// Every SIMD level this CPU runs, with its default kernel path, and every other kernel path the CPU has at its own
    /// level (AVX-512BW and AVX2 on an AVX-VNNI machine): each packed path is checked wherever the CPU can run it.
    /// </summary>
    static IEnumerable<(SimdLevel Level, KernelPath Path)> Paths()
    {
        var paths = Simd.Supported().Select(level => (level, KernelPaths.For(level))).ToList();
        foreach (KernelPath path in KernelPaths.Supported())
            if (!paths.Any(p => p.Item2 == path)) paths.Add((KernelPaths.Level(path), path));
        return paths;
    }

    float[] Run(LinearWeight weight, NativeBuffer<float> x, int t, SimdLevel level) => Run(weight, x.Pointer, t, level, KernelPaths.For(level));

    float[] Run(LinearWeight weight, float* x, int t, SimdLevel level, KernelPath path)
    {
        using var y = new NativeBuffer<float>(t * weight.Rows);
        Matmul.Run(_pool, _workspace, x, t, level, path, new MatmulPart(weight, y.Pointer));
        return y.Span.ToArray();
    }
}
