using SpecDec.Cli;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Cli;

/// <summary>The installed tool finds its bundled models beside its assembly, whatever the working folder.</summary>
public sealed class BundledFilesTests
{
    [Theory]
    [InlineData(BundledFiles.Target)]
    [InlineData(BundledFiles.Draft)]
    public void TheBuildCopiesTheBundledModelsBesideTheAssembly(string relative) =>
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, relative)), relative);

    [Fact]
    public void AFolderWithoutModelsFallsBackToTheToolsFolder()
    {
        using var elsewhere = new TempDirectory();
        string? found = BundledFiles.Find(BundledFiles.Target, [elsewhere.Path, AppContext.BaseDirectory]);
        Assert.NotNull(found);
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, BundledFiles.Target), Path.GetFullPath(found));
    }

    [Fact]
    public void NeitherFolderHavingItIsNull()
    {
        using var a = new TempDirectory();
        Assert.Null(BundledFiles.Find("models/none.gguf", [a.Path]));
    }
}
