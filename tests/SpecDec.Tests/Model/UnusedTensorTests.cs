using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Model;

/// <summary>A checkpoint holding tensors its config does not use is refused, naming them, rather than run with part of its weights.</summary>
public sealed class UnusedTensorTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AGgufWithMoreLayersThanItsBlockCountIsRefused()
    {
        string path = _dir.File("model.gguf");
        new TinyGguf { Layers = 3, EditMetadata = m => m[GgufKeys.BlockCount("llama")] = 2u }.Write(path);
        var e = Assert.Throws<ModelFormatException>(() => ModelSource.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("does not use (2 layers): blk.2.", e.Message);
    }

    [Fact]
    public void AHuggingFaceFolderWithMoreLayersThanItsConfigIsRefused()
    {
        string folder = _dir.File("model");
        new TinyHf { Layers = 3, EditConfig = c => c["num_hidden_layers"] = 2 }.Write(folder);
        var e = Assert.Throws<ModelFormatException>(() => ModelSource.Open(folder));
        Assert.Contains("model.layers.2.", e.Message);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void RopeFreqsAndEitherOutputHeadAreUsed(bool tied, bool ropeFreqs)
    {
        string path = _dir.File("model.gguf");
        new TinyGguf { Tied = tied, RopeFreqs = ropeFreqs }.Write(path);
        using var source = ModelSource.Open(path);
        Assert.Equal(tied, source.Config.TiedEmbeddings);
    }
}
