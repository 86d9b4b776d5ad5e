using SpecDec.Formats;

namespace SpecDec.Tests.Formats;

public unsafe class MappedFileTests
{
    [Fact]
    public void Evicted_pages_read_back_the_file_unchanged()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "pages.bin");
        byte[] bytes = new byte[5 * Environment.SystemPageSize + 123];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);

        using MappedFile file = MappedFile.Open(path);
        var mapped = new ReadOnlySpan<byte>(file.Pointer, bytes.Length);
        Assert.True(mapped.SequenceEqual(bytes));
        // A range that starts and ends inside pages: only the whole pages between are dropped.
        file.Evict(file.Pointer + 100, bytes.Length - 200);
        Assert.True(mapped.SequenceEqual(bytes));
        // Out-of-range requests are ignored rather than touching memory the file does not own.
        file.Evict(file.Pointer + bytes.Length - 10, 1000);
        Assert.True(mapped.SequenceEqual(bytes));
    }

    [Fact]
    public void A_symbolic_link_maps_the_whole_file_it_points_to()
    {
        using var dir = new TempDirectory();
        byte[] bytes = new byte[3 * Environment.SystemPageSize + 5];
        new Random(3).NextBytes(bytes);
        string target = dir.Write("blob.bin", bytes), link = dir.File("model.gguf");
        File.CreateSymbolicLink(link, target);

        using MappedFile file = MappedFile.Open(link);
        Assert.Equal(bytes.Length, file.Length);
        Assert.True(new ReadOnlySpan<byte>(file.Pointer, bytes.Length).SequenceEqual(bytes));
    }
}
