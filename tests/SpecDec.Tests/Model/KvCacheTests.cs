using SpecDec.Kernels;
using SpecDec.Model;

namespace SpecDec.Tests.Model;

public unsafe class KvCacheTests
{
    /// <summary>A cache whose key row p holds p + layer/10 + head/100 + x/1000 in slot x, its value row the negation.</summary>
    static KvCache Filled(int length)
    {
        var cache = new KvCache(layers: 2, kvHeads: 2, headDim: 4, capacity: 40, owner: new object());
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

    static float Key(KvCache cache, int layer, int head, int position, int x) =>
        cache.Keys(layer)[head * cache.HeadStride + Attention.KeyIndex(position, x, cache.HeadDim)];

    static float Value(KvCache cache, int layer, int head, int position, int x) =>
        cache.Values(layer)[head * cache.HeadStride + position * cache.HeadDim + x];

    [Fact]
    public void Write_puts_keys_in_transposed_blocks_of_16_positions_and_values_in_rows()
    {
        using KvCache cache = Filled(20);
        // Position 17 is lane 1 of key block 1: element x sits at (1·4 + x)·16 + 1 of the head's keys.
        for (int x = 0; x < 4; x++)
        {
            Assert.Equal(Expected(17, 1, 1, x), cache.Keys(1)[cache.HeadStride + (4 + x) * 16 + 1]);
            Assert.Equal(-Expected(17, 1, 1, x), cache.Values(1)[cache.HeadStride + 17 * 4 + x]);
        }
    }

    [Fact]
    public void KeepRows_moves_the_listed_rows_down_behind_the_prefix()
    {
        using KvCache cache = Filled(20);
        cache.KeepRows(3, [4, 6, 7, 18]); // 18 lies in the next key block
        Assert.Equal(7, cache.Length);
        int[] expectedRows = [0, 1, 2, 4, 6, 7, 18];
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 2; h++)
                for (int p = 0; p < 7; p++)
                    for (int x = 0; x < 4; x++)
                    {
                        Assert.Equal(Expected(expectedRows[p], l, h, x), Key(cache, l, h, p, x));
                        Assert.Equal(-Expected(expectedRows[p], l, h, x), Value(cache, l, h, p, x));
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
}
