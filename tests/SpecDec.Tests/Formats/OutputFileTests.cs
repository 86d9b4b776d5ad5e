using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Tensors;
using SpecDec.Tools.Conversion;
using SpecDec.Tools.Quantization;
using SpecDec.Tools.Synthetic;
using SpecDec.Tests.Tools.Synthetic;

namespace SpecDec.Tests.Formats;

/// <summary>Outputs never overwrite an input, and a failed or cancelled write leaves nothing behind.</summary>
public sealed class OutputFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ConvertRefusesToWriteOverAFileOfItsModelFolder()
    {
        string model = _dir.File("x");
        new TinyHf().Write(model);
        string weights = Path.Combine(model, "model.safetensors");
        byte[] before = File.ReadAllBytes(weights);
        var e = Assert.Throws<SpecDecException>(() => GgufConverter.Convert(model, weights, GgmlType.Q8_0));
        Assert.Contains("is one of the inputs", e.Message);
        Assert.Equal(before, File.ReadAllBytes(weights));
        Assert.Empty(Directory.GetFiles(model, "*.partial"));
    }

    [Fact]
    public void ConvertMayWriteANewFileInsideTheModelFolder()
    {
        string model = _dir.File("x");
        new TinyHf().Write(model);
        GgufConverter.Convert(model, Path.Combine(model, "model.gguf"), GgmlType.F16);
        using var file = GgufFile.Open(Path.Combine(model, "model.gguf"));
        Assert.NotEmpty(file.Tensors);
    }

    [Fact]
    public void ACancelledWriteLeavesNeitherTheOutputNorAPartialFile()
    {
        string input = _dir.File("in.gguf"), output = _dir.File("out.gguf");
        SyntheticModel.Write(TinyShapes.Qwen2, QuantScheme.F16, input);
        using var cancel = new CancellationTokenSource();
        int tensors = 0;
        // Cancelled half-way, as SIGINT does through SignalCancellation.
        Assert.ThrowsAny<OperationCanceledException>(() => GgufQuantizer.Quantize(input, output, QuantScheme.Q8_0,
            (_, _) => { if (++tensors == 3) cancel.Cancel(); }, cancel.Token));
        Assert.Equal([input], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void AFailedWriteKeepsThePreviousOutput()
    {
        string output = _dir.File("out.bin");
        File.WriteAllText(output, "old");
        Assert.Throws<InvalidOperationException>(() => OutputFile.Write(output, s =>
        {
            s.WriteByte(1);
            throw new InvalidOperationException("disk full");
        }));
        Assert.Equal("old", File.ReadAllText(output));
        Assert.Equal([output], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void AFolderIsNotAnOutputFile()
    {
        var e = Assert.Throws<SpecDecException>(() => OutputFile.CheckNotInput(_dir.Path, []));
        Assert.Contains("is a folder", e.Message);
    }
}
