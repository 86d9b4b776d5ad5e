using SpecDec.Model;

namespace SpecDec.Tests.Model;

public unsafe class KvCacheTests
{
    /// <summary>A cache whose row p holds the value p + layer/10 + head/100 in every slot.</summary>
    static KvCache Filled(int length)
    {
        var cache = new KvCache(layers: 2, kvHeads: 2, headDim: 4, capacity: 10, owner: new object());
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 2; h++)
                for (int p = 0; p < length; p++)
                    for (int x = 0; x < 4; x++)
                    {
                        cache.Keys(l)[(h * 10 + p) * 4 + x] = p + l / 10f + h / 100f;
                        cache.Values(l)[(h * 10 + p) * 4 + x] = -(p + l / 10f + h / 100f);
                    }
        cache.Advance(length);
        return cache;
    }

    [Fact]
    public void KeepRows_moves_the_listed_rows_down_behind_the_prefix()
    {
        using KvCache cache = Filled(9);
        cache.KeepRows(3, [4, 6, 7]);
        Assert.Equal(6, cache.Length);
        float[] expectedRows = [0, 1, 2, 4, 6, 7];
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 2; h++)
                for (int p = 0; p < 6; p++)
                {
                    float v = expectedRows[p] + l / 10f + h / 100f;
                    Assert.Equal(v, cache.Keys(l)[(h * 10 + p) * 4 + 3]);
                    Assert.Equal(-v, cache.Values(l)[(h * 10 + p) * 4]);
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
