using SpecDec.Backends.Cpu;
using SpecDec.Kernels;
using SpecDec.Model;

namespace SpecDec.Tests.Model;

public unsafe class KvCacheTests
{
    /// <summary>A cache whose key row p holds p + layer/10 + head/100 + x/1000 in slot x, its value row the negation.</summary>
    static KvCache Filled(int length, KvCacheType type = KvCacheType.F32)
    {
        var cache = new KvCache(layers: 2, kvHeads: 2, headDim: 4, capacity: 40, owner: new object(), type);
        float* key = stackalloc float[4], value = stackalloc float[4];
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 2; h++)
                for (int p = 0; p < length; p++)
                {
                    for (int x = 0; x < 4; x++) value[x] = -(key[x] = Expected(p, l, h, x));
                    cache.Write(l, h, p, key, value);
                }
        cache.Advance(length);
        return cache;
    }

    static float Expected(int row, int layer, int head, int x) => row + layer / 10f + head / 100f + x / 1000f;

    /// <summary>What a cache of <paramref name="type"/> stores for <paramref name="value"/>: itself, or the nearest half.</summary>
    static float Stored(float value, KvCacheType type) => type == KvCacheType.F16 ? (float)(Half)value : value;

    static float Key(KvCache cache, int layer, int head, int position, int x) =>
        Element(cache, cache.Keys(layer), head * cache.HeadStride + Attention.KeyIndex(position, x, cache.HeadDim));

    static float Value(KvCache cache, int layer, int head, int position, int x) =>
        Element(cache, cache.Values(layer), head * cache.HeadStride + position * cache.HeadDim + x);

    static float Element(KvCache cache, byte* data, long index) =>
        cache.Type == KvCacheType.F16 ? (float)BitConverter.UInt16BitsToHalf(((ushort*)data)[index]) : ((float*)data)[index];

    [Theory]
    [InlineData(KvCacheType.F32)]
    [InlineData(KvCacheType.F16)]
    public void Write_puts_keys_in_transposed_blocks_of_16_positions_and_values_in_rows(KvCacheType type)
    {
        using KvCache cache = Filled(20, type);
        // Position 17 is lane 1 of key block 1: element x sits at (1·4 + x)·16 + 1 of the head's keys.
        for (int x = 0; x < 4; x++)
        {
            Assert.Equal(Stored(Expected(17, 1, 1, x), type), Element(cache, cache.Keys(1), cache.HeadStride + (4 + x) * 16 + 1));
            Assert.Equal(Stored(-Expected(17, 1, 1, x), type), Element(cache, cache.Values(1), cache.HeadStride + 17 * 4 + x));
        }
    }

    [Fact]
    public void An_f16_cache_takes_half_the_bytes_and_rounds_to_nearest_even_saturating_at_the_largest_half()
    {
        using var f32 = new KvCache(2, 2, 64, 100, new object());
        using var f16 = new KvCache(2, 2, 64, 100, new object(), KvCacheType.F16);
        Assert.Equal(2 * f16.ElementBytes, f32.ElementBytes);
        // Halves near 1 are 2^-10 apart: 1 + 2^-11 is a tie that goes to the even 1, 1 + 3·2^-11 to 1 + 2^-9.
        Assert.Equal(0x3C00, KvCache.ToHalf(1f + MathF.Pow(2, -11)));
        Assert.Equal(0x3C02, KvCache.ToHalf(1f + 3 * MathF.Pow(2, -11)));
        Assert.Equal(0x7BFF, KvCache.ToHalf(70000f));        // 65504, not +infinity (0x7C00)
        Assert.Equal(0xFBFF, KvCache.ToHalf(-1e30f));
        Assert.Equal(0x0001, KvCache.ToHalf(MathF.Pow(2, -24))); // the smallest subnormal survives
    }

    [Theory]
    [InlineData(KvCacheType.F32)]
    [InlineData(KvCacheType.F16)]
    public void KeepRows_moves_the_listed_rows_down_behind_the_prefix(KvCacheType type)
    {
        using KvCache cache = Filled(20, type);
        cache.KeepRows(3, [4, 6, 7, 18]); // 18 lies in the next key block
        Assert.Equal(7, cache.Length);
        int[] expectedRows = [0, 1, 2, 4, 6, 7, 18];
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 2; h++)
                for (int p = 0; p < 7; p++)
                    for (int x = 0; x < 4; x++)
                    {
                        Assert.Equal(Stored(Expected(expectedRows[p], l, h, x), type), Key(cache, l, h, p, x));
                        Assert.Equal(Stored(-Expected(expectedRows[p], l, h, x), type), Value(cache, l, h, p, x));
                    }
    }

    [Fact]
    public void Rollback_and_KeepRows_reject_rows_outside_the_cache_or_out_of_order()
    {
        using KvCache cache = Filled(5);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Rollback(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Rollback(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.KeepRows(2, [5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.KeepRows(2, [1]));
        Assert.Throws<ArgumentException>(() => cache.KeepRows(2, [4, 3]));
        Assert.Equal(5, cache.Length);
        cache.KeepRows(2, []);
        Assert.Equal(2, cache.Length);
        cache.Rollback(0);
        Assert.Equal(0, cache.Length);
    }

    [Theory]
    [InlineData(KvCacheType.F32)]
    [InlineData(KvCacheType.F16)]
    public void The_cache_grows_in_place_of_preallocating_and_keeps_every_row(KvCacheType type)
    {
        // Capacity for a million positions, memory for the first 256: what a request for a million tokens costs up front.
        using var cache = new KvCache(layers: 2, kvHeads: 2, headDim: 4, capacity: 1_000_000, owner: new object(), type);
        Assert.Equal(KvCache.InitialPositions, cache.Allocated);
        Assert.Equal(2 * 2 * 2 * Attention.HeadFloats(KvCache.InitialPositions, 4) * type.ElementBytes(), cache.AllocatedBytes);

        float* key = stackalloc float[4], value = stackalloc float[4];
        for (int p = 0; p < 600; p++)
        {
            cache.Reserve(p + 1);
            for (int l = 0; l < 2; l++)
                for (int h = 0; h < 2; h++)
                {
                    for (int x = 0; x < 4; x++) value[x] = -(key[x] = Expected(p, l, h, x));
                    cache.Write(l, h, p, key, value);
                }
            cache.Advance(1);
        }
        Assert.Equal(1024, cache.Allocated); // 256 → 512 → 1024
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 2; h++)
                for (int p = 0; p < 600; p++)
                    for (int x = 0; x < 4; x++)
                    {
                        Assert.Equal(Stored(Expected(p, l, h, x), type), Key(cache, l, h, p, x));
                        Assert.Equal(Stored(-Expected(p, l, h, x), type), Value(cache, l, h, p, x));
                    }
        Assert.Throws<InvalidOperationException>(() => new KvCache(1, 1, 4, 300, new object()).Reserve(301));
    }
}
