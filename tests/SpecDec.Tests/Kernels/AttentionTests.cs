using SpecDec.Kernels;
using SpecDec.Tensors;

namespace SpecDec.Tests.Kernels;

public unsafe class AttentionTests : IDisposable
{
    readonly WorkerPool _pool = new(3);

    public void Dispose() => _pool.Dispose();

    /// <summary>
    /// Inputs for one layer: T rows over Past cached rows, H query heads over Kv heads of width d. Keys and values
    /// are random floats in the cache's layout (HeadStride floats per head, keys blocked as Attention.KeyIndex says).
    /// </summary>
    sealed class Case : IDisposable
    {
        public readonly int T, Past, Heads, KvHeads, D, Capacity;
        public readonly long HeadStride;
        public readonly NativeBuffer<float> Q, K, V;
        public readonly NativeBuffer<ulong> Visible;
        /// <summary>K and V rounded to f16 (the f32 buffers then hold the rounded values too).</summary>
        readonly NativeBuffer<ushort>? _halfK, _halfV;

        /// <summary>Sliding window and score soft-cap of the problem (0: none).</summary>
        public int Window { get; init; }
        public float Softcap { get; init; }

        public Case(int t, int past, int heads, int kvHeads, int d, int[]? parents, int seed, float keyScale = 1f, bool half = false)
        {
            (T, Past, Heads, KvHeads, D, Capacity) = (t, past, heads, kvHeads, d, past + t + 3);
            HeadStride = Attention.HeadFloats(Capacity, d);
            var rng = new Random(seed);
            Q = KernelTestData.Native(KernelTestData.Random(rng, t * heads * d, 2f));
            K = KernelTestData.Native(KernelTestData.Random(rng, (int)(kvHeads * HeadStride), keyScale));
            V = KernelTestData.Native(KernelTestData.Random(rng, (int)(kvHeads * HeadStride)));
            if (half)
            {
                _halfK = ToHalf(K);
                _halfV = ToHalf(V);
            }
            Visible = new NativeBuffer<ulong>(t);
            for (int i = 0; i < t; i++)
            {
                int parent = parents is null ? i - 1 : parents[i];
                Visible.Span[i] = (1UL << i) | (parent >= 0 ? Visible.Span[parent] : 0);
            }
        }

        /// <summary>Rounds <paramref name="values"/> to f16 in place and returns their f16 bits.</summary>
        static NativeBuffer<ushort> ToHalf(NativeBuffer<float> values)
        {
            var bits = new NativeBuffer<ushort>(values.Length);
            for (int i = 0; i < values.Length; i++)
            {
                bits.Span[i] = BitConverter.HalfToUInt16Bits((Half)values.Span[i]);
                values.Span[i] = (float)BitConverter.UInt16BitsToHalf(bits.Span[i]);
            }
            return bits;
        }

        /// <summary>Attention over the f32 cache, or with <paramref name="half"/> over the f16 one.</summary>
        public float[] Run(WorkerPool pool, SimdLevel level, bool half = false)
        {
            using var output = new NativeBuffer<float>(T * Heads * D);
            using var scratch = new NativeBuffer<float>(pool.ThreadCount * Attention.ScratchFloats(D));
            var problem = new Attention.Problem
            {
                Q = Q.Pointer, Output = output.Pointer, HeadStride = HeadStride, T = T, Heads = Heads,
                KvHeads = KvHeads, HeadDim = D, Past = Past, Visible = Visible.Pointer, Scale = 1f / MathF.Sqrt(D),
                K = half ? (byte*)_halfK!.Pointer : (byte*)K.Pointer, V = half ? (byte*)_halfV!.Pointer : (byte*)V.Pointer, Half = half,
                Window = Window, Softcap = Softcap,
            };
            Attention.Run(pool, problem, scratch.Pointer, level);
            return output.Span.ToArray();
        }

        /// <summary>Query head <paramref name="h"/> alone (a problem of one head over its KV head), as [T × D].</summary>
        public float[] RunHead(WorkerPool pool, SimdLevel level, int h)
        {
            using var q = new NativeBuffer<float>(T * D);
            for (int i = 0; i < T; i++) Q.Span.Slice((i * Heads + h) * D, D).CopyTo(q.Span.Slice(i * D, D));
            using var output = new NativeBuffer<float>(T * D);
            using var scratch = new NativeBuffer<float>(pool.ThreadCount * Attention.ScratchFloats(D));
            long kv = h / (Heads / KvHeads) * HeadStride;
            var problem = new Attention.Problem
            {
                Q = q.Pointer, Output = output.Pointer, HeadStride = HeadStride, T = T, Heads = 1, KvHeads = 1, HeadDim = D,
                Past = Past, Visible = Visible.Pointer, Scale = 1f / MathF.Sqrt(D), K = (byte*)(K.Pointer + kv), V = (byte*)(V.Pointer + kv),
                Window = Window, Softcap = Softcap,
            };
            Attention.Run(pool, problem, scratch.Pointer, level);
            return output.Span.ToArray();
        }

        public void Dispose()
        {
            Q.Dispose();
            K.Dispose();
            V.Dispose();
            _halfK?.Dispose();
            _halfV?.Dispose();
            Visible.Dispose();
        }
    }

    /// <summary>
    /// Sliding windows (Gemma): narrower than a tile, across tile edges, and with the first tiles wholly behind it;
    /// with a score soft-cap of 1.5 (small enough to bend these scores). Trees count the window along their paths.
    /// </summary>
    [Theory]
    [InlineData(1, 150, 8, 2, 64, 5)]
    [InlineData(8, 70, 4, 2, 32, 9)]
    [InlineData(10, 55, 4, 1, 32, 80)]
    [InlineData(17, 9, 4, 1, 32, 3)]
    public void Sliding_windows_and_soft_caps_match_the_scalar_twin(int t, int past, int heads, int kvHeads, int d, int window)
    {
        int[] tree = Enumerable.Range(0, t).Select(i => i == 0 ? -1 : (i * 7 + 3) % i).ToArray();
        foreach (int[]? parents in new[] { null, tree })
        {
            using var c = new Case(t, past, heads, kvHeads, d, parents, seed: t * 100 + past) { Window = window, Softcap = 1.5f };
            float[] expected = c.Run(_pool, SimdLevel.Scalar);
            using var full = new Case(t, past, heads, kvHeads, d, parents, seed: t * 100 + past);
            Assert.NotEqual(expected, full.Run(_pool, SimdLevel.Scalar)); // the window and cap change the result
            foreach (SimdLevel level in Simd.Supported())
            {
                float[] actual = c.Run(_pool, level);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5f, $"{level} [{i}] {actual[i]} vs {expected[i]}");
            }
        }
    }

    public static TheoryData<int, int, int, int, int> Shapes() => new()
    {
        // T, past, heads, kvHeads, d
        { 1, 0, 4, 4, 16 },
        { 1, 150, 8, 2, 64 },   // decode over several key tiles (online softmax rescaling)
        { 3, 5, 4, 2, 20 },     // d not a multiple of the vector width
        { 8, 70, 14, 2, 64 },   // group of 7 (Qwen2.5-0.5B)
        { 17, 9, 4, 1, 32 },
        { 64, 0, 4, 2, 16 },
        { 8, 57, 8, 4, 64 },    // a batch across a key tile edge: early rows see nothing in the last tile
        { 10, 55, 4, 2, 32 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Fused_simd_attention_matches_the_scalar_twin_for_causal_and_tree_masks(int t, int past, int heads, int kvHeads, int d)
    {
        int[] tree = Enumerable.Range(0, t).Select(i => i == 0 ? -1 : (i * 7 + 3) % i).ToArray(); // parent < i
        foreach (int[]? parents in new[] { null, tree })
        {
            using var c = new Case(t, past, heads, kvHeads, d, parents, seed: t * 100 + past);
            float[] expected = c.Run(_pool, SimdLevel.Scalar);
            foreach (SimdLevel level in Simd.Supported())
            {
                float[] actual = c.Run(_pool, level);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5f, $"{level} [{i}] {actual[i]} vs {expected[i]}");
            }
        }
    }

    /// <summary>
    /// The query heads of a group run two at a time on the SIMD paths (sharing key and value loads); each head's output has
    /// the bits it has computed alone, so how heads are grouped never changes a result.
    /// </summary>
    [Theory]
    [InlineData(8, 150, 8, 4, 64)]   // the bundled target's heads: pairs over several key tiles
    [InlineData(5, 70, 14, 2, 64)]   // groups of 7: three pairs and one head alone
    [InlineData(3, 20, 6, 2, 32)]    // groups of 3, d = 32 (256-bit value chains on the 512-bit path)
    [InlineData(9, 40, 4, 2, 20)]    // d not a multiple of the vector width
    public void Paired_heads_give_each_head_its_bits_alone(int t, int past, int heads, int kvHeads, int d)
    {
        int[] tree = Enumerable.Range(0, t).Select(i => i == 0 ? -1 : (i * 5 + 1) % i).ToArray();
        foreach (int[]? parents in new[] { null, tree })
        {
            using var c = new Case(t, past, heads, kvHeads, d, parents, seed: t * 31 + past) { Window = past / 2 + 3, Softcap = parents is null ? 0 : 2.5f };
            foreach (SimdLevel level in Simd.Supported())
            {
                float[] all = c.Run(_pool, level);
                for (int h = 0; h < heads; h++)
                {
                    float[] alone = c.RunHead(_pool, level, h);
                    for (int i = 0; i < t; i++)
                        Assert.True(all.AsSpan((i * heads + h) * d, d).SequenceEqual(alone.AsSpan(i * d, d)), $"{level} row {i} head {h}");
                }
            }
        }
    }

    /// <summary>
    /// An f16 cache gives the bits an f32 cache holding the same (rounded) values gives: the SIMD paths convert
    /// each tile and then run the f32 code, the scalar twin converts element by element.
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void An_f16_cache_gives_the_bits_of_an_f32_cache_holding_the_rounded_values(int t, int past, int heads, int kvHeads, int d)
    {
        int[] tree = Enumerable.Range(0, t).Select(i => i == 0 ? -1 : (i * 7 + 3) % i).ToArray();
        foreach (int[]? parents in new[] { null, tree })
        {
            using var c = new Case(t, past, heads, kvHeads, d, parents, seed: t * 100 + past + 1, half: true);
            foreach (SimdLevel level in Simd.Supported().Append(SimdLevel.Scalar))
                Assert.Equal(c.Run(_pool, level), c.Run(_pool, level, half: true));
        }
    }

    [Fact]
    public void A_row_that_sees_only_itself_returns_its_own_value()
    {
        // Past 0 and every row a root: each row attends to itself alone.
        using var c = new Case(5, 0, 4, 2, 16, parents: [-1, -1, -1, -1, -1], seed: 1);
        foreach (SimdLevel level in Simd.Supported())
        {
            float[] o = c.Run(_pool, level);
            for (int i = 0; i < 5; i++)
                for (int h = 0; h < 4; h++)
                    for (int x = 0; x < 16; x++)
                        Assert.True(Math.Abs(c.V.Span[(int)(h / 2 * c.HeadStride) + i * 16 + x] - o[(i * 4 + h) * 16 + x]) <= 1e-6, $"{level} row {i} head {h}");
        }
    }

    [Fact]
    public void Equal_keys_average_the_visible_values_and_skip_the_hidden_ones()
    {
        // All keys zero: every visible position has the same score, so the output is the mean of its values.
        int[] parents = [-1, 0, 0, 2];
        using var c = new Case(4, 3, 2, 1, 16, parents, seed: 2, keyScale: 0f);
        int[][] visible = [[0, 1, 2, 3], [0, 1, 2, 3, 4], [0, 1, 2, 3, 5], [0, 1, 2, 3, 5, 6]];
        foreach (SimdLevel level in Simd.Supported())
        {
            float[] o = c.Run(_pool, level);
            for (int i = 0; i < 4; i++)
                for (int x = 0; x < 16; x++)
                {
                    double mean = visible[i].Average(p => c.V.Span[p * 16 + x]);
                    Assert.True(Math.Abs(mean - o[(i * 2 + 1) * 16 + x]) <= 1e-5, $"{level} row {i}");
                }
        }
    }
}
