using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Tensors;

namespace SpecDec.Tests.Kernels;

/// <summary>
/// F16 decode reads raw half bits against activations scaled by 2^112 (<see cref="HalfBits"/>); the claim is that
/// this gives the bits exact conversion gives, so these tests compare against System.Half and the exact kernel.
/// </summary>
public unsafe class HalfBitsTests : IDisposable
{
    static readonly float TwoTo112 = MathF.ScaleB(1f, 112);

    readonly WorkerPool _pool = new(2);
    readonly MatmulWorkspace _workspace = new(4, 1024, 2);

    public void Dispose()
    {
        _pool.Dispose();
        _workspace.Dispose();
    }

    [Fact]
    public void Raw_bits_are_every_finite_half_times_2_to_the_minus_112_exactly()
    {
        for (int bits = 0; bits < 0x10000; bits++)
        {
            if ((bits & 0x7c00) == 0x7c00) continue; // Inf and NaN: AllFinite keeps them away
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)bits);
            float actual = HalfBits.Scaled((short)bits) * TwoTo112; // exact: a power-of-two scaling into the normal range
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual),
                $"half 0x{bits:x4}: {actual} (0x{BitConverter.SingleToInt32Bits(actual):x8}) vs {expected}");
        }
    }

    [Fact]
    public void AllFinite_finds_an_Inf_or_NaN_anywhere_in_the_vector_body_or_the_tail()
    {
        ushort[] specials = [0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xffff];
        for (int length = 1; length <= 40; length++)
        {
            // Finite but extreme: the largest half, subnormals and both zeros.
            ushort[] values = Enumerable.Range(0, length).Select(i => (ushort)(new ushort[] { 0x7bff, 0xfbff, 0x0001, 0x8001, 0, 0x8000, 0x3c00 }[i % 7])).ToArray();
            fixed (ushort* p = values) Assert.True(HalfBits.AllFinite(p, length));
            for (int at = 0; at < length; at++)
            {
                ushort[] copy = (ushort[])values.Clone();
                copy[at] = specials[at % specials.Length];
                fixed (ushort* p = copy) Assert.False(HalfBits.AllFinite(p, length), $"length {length}, 0x{copy[at]:x4} at {at}");
            }
        }
    }

    [Fact]
    public void The_load_time_scan_over_the_pool_marks_only_the_weights_holding_Inf_or_NaN()
    {
        // A weight of 1.2 M halves spans three of the scan's 512 K-half pieces; its NaN sits in the last one.
        (int Rows, int Columns, long? Poison)[] shapes = [(1200, 1000, 1_199_999), (3, 5, null), (64, 64, 0), (1200, 1000, null)];
        var buffers = shapes.Select(s => new NativeBuffer<ushort>((long)s.Rows * s.Columns)).ToArray();
        try
        {
            for (int i = 0; i < shapes.Length; i++)
            {
                buffers[i].Span.Fill(0x3c00);
                if (shapes[i].Poison is long at) buffers[i].Pointer[at] = 0x7e00;
            }
            LinearWeight[] weights = shapes.Select((s, i) => new LinearWeight(GgmlType.F16, (byte*)buffers[i].Pointer, s.Rows, s.Columns)).ToArray();
            Assert.Equal([false, true, false, true], HalfBits.AllFinite(_pool, weights));
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }

    [Fact]
    public void Activations_that_would_overflow_when_scaled_are_refused_in_the_vector_body_and_the_tail()
    {
        const int n = 21; // two 8-float vectors and a tail of 5
        float* x = stackalloc float[n], dst = stackalloc float[n];
        foreach (float bad in new[] { 65536f, -65536f, float.PositiveInfinity, float.NaN, 1e30f })
            foreach (int at in new[] { 0, 9, 20 })
            {
                for (int i = 0; i < n; i++) x[i] = i - 10;
                x[at] = bad;
                Assert.False(HalfBits.ScaleActivations(x, n, dst), $"{bad} at {at}");
            }
        for (int i = 0; i < n; i++) x[i] = i % 3 == 0 ? 65535.996f : i % 3 == 1 ? -1e-40f : -0f;
        Assert.True(HalfBits.ScaleActivations(x, n, dst));
        for (int i = 0; i < n; i++)
            Assert.Equal(BitConverter.SingleToInt32Bits(x[i]), BitConverter.SingleToInt32Bits(dst[i] / TwoTo112));
    }

    /// <summary>Rows of F16 weights full of what breaks fast conversions: zeros of both signs, subnormals, the largest half.</summary>
    static NativeBuffer<byte> HardHalves(Random rng, int rows, int columns, ushort? poison = null)
    {
        var w = new NativeBuffer<byte>((long)rows * columns * 2);
        var halves = (ushort*)w.Pointer;
        for (int i = 0; i < rows * columns; i++)
            halves[i] = rng.Next(8) switch
            {
                0 => (ushort)rng.Next(0, 0x400),                // +subnormal or +0
                1 => (ushort)(0x8000 | rng.Next(0, 0x400)),     // −subnormal or −0
                2 => (ushort)(rng.Next(2) == 0 ? 0x7bff : 0xfbff),
                _ => (ushort)(BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() * 2 - 1))),
            };
        if (poison is ushort p) halves[rows * columns / 2 + 3] = p;
        return w;
    }

    float[] Run(LinearWeight weight, float[] x, int t, SimdLevel level)
    {
        using NativeBuffer<float> input = KernelTestData.Native(x);
        using var y = new NativeBuffer<float>(t * weight.Rows);
        Matmul.Run(_pool, _workspace, input.Pointer, t, level, new MatmulPart(weight, y.Pointer));
        return y.Span.ToArray();
    }

    [Theory]
    [InlineData(1000, 37, 1f)]      // ragged tail, ordinary activations
    [InlineData(64, 9, 60000f)]     // activations just below the overflow limit
    [InlineData(100, 8, 70000f)]    // some activations past it: the call converts exactly instead
    public void Decode_on_raw_bits_gives_the_bits_of_exact_conversion(int k, int n, float scale)
    {
        var rng = new Random(k + n);
        using NativeBuffer<byte> data = HardHalves(rng, n, k);
        var exact = new LinearWeight(GgmlType.F16, data.Pointer, n, k);
        LinearWeight raw = exact.WithFiniteHalvesChecked();
        Assert.True(raw.FiniteHalves);
        // Activations with tiny and subnormal values among them, so products land anywhere.
        float[] x = KernelTestData.Random(rng, 2 * k, scale);
        for (int i = 0; i < x.Length; i += 7) x[i] *= 1e-40f;
        foreach (SimdLevel level in Simd.Supported().Where(l => l != SimdLevel.Scalar))
        {
            float[] expected = Run(exact, x[..k], 1, level);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), Run(raw, x[..k], 1, level).Select(BitConverter.SingleToInt32Bits));
            // And decode still equals the same row inside a verification batch, which converts into scratch.
            float[] batch = Run(raw, x, 2, level);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), batch[..n].Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void A_workspace_without_room_for_scaled_activations_reads_F16_exactly_with_the_same_bits()
    {
        var rng = new Random(13);
        const int k = 160, n = 12;
        using NativeBuffer<byte> data = HardHalves(rng, n, k);
        LinearWeight weight = new LinearWeight(GgmlType.F16, data.Pointer, n, k).WithFiniteHalvesChecked();
        using NativeBuffer<float> x = KernelTestData.Native(KernelTestData.Random(rng, 2 * k, 1f));
        using var small = new MatmulWorkspace(2, k, 2, scaledActivations: false);
        using var y = new NativeBuffer<float>(2 * n);
        foreach (SimdLevel level in Simd.Supported())
            foreach (int t in new[] { 1, 2 })
            {
                Matmul.Run(_pool, small, x.Pointer, t, level, new MatmulPart(weight, y.Pointer));
                float[] exact = Run(new LinearWeight(GgmlType.F16, data.Pointer, n, k), x.Span[..(t * k)].ToArray(), t, level);
                Assert.Equal(exact, y.Span[..(t * n)].ToArray());
            }
    }

    [Fact]
    public void A_weight_holding_Inf_is_read_exactly_so_its_outputs_stay_non_finite()
    {
        var rng = new Random(4);
        const int k = 64, n = 8;
        using NativeBuffer<byte> data = HardHalves(rng, n, k, poison: 0x7c00);
        LinearWeight weight = new LinearWeight(GgmlType.F16, data.Pointer, n, k).WithFiniteHalvesChecked();
        Assert.False(weight.FiniteHalves);
        float[] x = KernelTestData.Random(rng, k, 1f);
        int poisonedRow = (n * k / 2 + 3) / k;
        foreach (SimdLevel level in Simd.Supported())
            Assert.False(float.IsFinite(Run(weight, x, 1, level)[poisonedRow]), $"{level}");
    }
}
