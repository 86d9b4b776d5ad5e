using System.Globalization;
using SpecDec.Tensors;

namespace SpecDec.Tests.Tensors;

/// <summary>
/// <see cref="NativeBuffer{T}"/> below and above the huge-page size (<see cref="HugePages"/>): zeroed, aligned, every
/// byte writable and readable, and on Linux a large one's mapping is gone from /proc/self/maps once disposed. Alone in
/// its collection so no other test's allocation can take the freed range between the free and the read of the maps.
/// </summary>
[Collection(nameof(NativeBufferTests))]
public unsafe class NativeBufferTests
{
    [Theory]
    [InlineData(100)]                  // C heap, 64-byte aligned
    [InlineData(2 << 20)]              // exactly one huge page
    [InlineData((5 << 20) + 4096 + 3)] // whole huge pages, then a tail of small pages and a partial one
    public void Buffer_is_zeroed_aligned_usable_and_freed(int bytes)
    {
        var buffer = new NativeBuffer<byte>(bytes);
        byte* p = buffer.Pointer;
        bool mapped = HugePages.Applies((nuint)bytes);
        Assert.Equal(0, (long)p % (mapped ? (long)HugePages.Size : 64));
        Span<byte> span = buffer.Span;
        Assert.Equal(bytes, span.Length);
        Assert.Equal(-1, span.IndexOfAnyExcept((byte)0));
        for (int i = 0; i < bytes; i++) span[i] = (byte)(i * 7 + 1);
        for (int i = 0; i < bytes; i++) Assert.Equal((byte)(i * 7 + 1), p[i]);

        long page = Environment.SystemPageSize, end = (long)p + (bytes + page - 1) / page * page;
        if (mapped) Assert.Contains(Mappings(), m => m.Start <= (long)p && m.End >= end);
        buffer.Dispose();
        buffer.Dispose(); // twice is harmless
        Assert.Throws<ObjectDisposedException>(() => (long)buffer.Pointer);
        if (mapped) Assert.DoesNotContain(Mappings(), m => m.Start == (long)p && m.End == end);
    }

    /// <summary>This process's mappings, [Start, End) per line of /proc/self/maps.</summary>
    static List<(long Start, long End)> Mappings() => File.ReadLines("/proc/self/maps").Select(line =>
    {
        string[] range = line[..line.IndexOf(' ')].Split('-');
        return (long.Parse(range[0], NumberStyles.HexNumber), long.Parse(range[1], NumberStyles.HexNumber));
    }).ToList();
}

[CollectionDefinition(nameof(NativeBufferTests), DisableParallelization = true)]
public sealed class NativeBufferTestsAlone;
