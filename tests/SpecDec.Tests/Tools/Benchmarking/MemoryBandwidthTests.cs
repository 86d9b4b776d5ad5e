using SpecDec.Kernels;
using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

public class MemoryBandwidthTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void A_pass_sums_as_many_floats_as_the_buffer_holds(int threads)
    {
        using var pool = new WorkerPool(threads);
        const long bytes = 4 << 18; // four 256 KiB units: 1024 chunks of four 256-byte steps
        using var memory = new MemoryBandwidth(pool, bytes);
        Assert.Equal(bytes / sizeof(float), memory.ReadOnce());
        Assert.Equal(bytes / sizeof(float), memory.ReadOnce());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(3 << 17)]
    public void A_size_that_does_not_split_into_whole_steps_per_chunk_is_refused(long bytes)
    {
        using var pool = new WorkerPool(1);
        Assert.Throws<ArgumentException>(() => new MemoryBandwidth(pool, bytes));
    }
}
