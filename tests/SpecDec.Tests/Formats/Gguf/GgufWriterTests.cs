using System.Runtime.InteropServices;
using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Tensors;

namespace SpecDec.Tests.Formats.Gguf;

public sealed class GgufWriterTests
{
    [Fact]
    public void WritesExactlyTheSpecBytes()
    {
        var writer = new GgufWriter();
        writer.Add("general.architecture", "llama");
        writer.Add("n", 7u);
        writer.Add("ids", new[] { 1, -2 });
        writer.AddTensor("a", GgmlType.F32, [3], s => s.Write(MemoryMarshal.AsBytes<float>([1f, 2f, 3f])));
        writer.AddTensor("b", GgmlType.F16, [2, 2], s => s.Write(new byte[8]));
        var stream = new MemoryStream();
        writer.Write(stream);

        byte[] expected = new SpecBytes().Header(3, 2, 3)
            .Key("general.architecture", 8).Str("llama")
            .Key("n", 4).U32(7)
            .Key("ids", 9).U32(5).U64(2).I32(1).I32(-2)
            .Tensor("a", [3], 0, 0)
            .Tensor("b", [2, 2], 1, 32) // 12 bytes of "a" padded to 32
            .PadTo(32)
            .F32(1).F32(2).F32(3).PadTo(32)
            .Raw(new byte[8]).PadTo(32)
            .ToArray();
        Assert.Equal(expected, stream.ToArray());
    }

    [Theory]
    [InlineData(null)]
    [InlineData(64u)]
    [InlineData(4096u)]
    public unsafe void RoundTripsMetadataAndTensors(uint? alignment)
    {
        var writer = new GgufWriter();
        object[] nested = [new[] { "x", "y" }, new[] { 1.5, -2.5 }, new object[] { new byte[] { 9 } }];
        var values = new Dictionary<string, object>
        {
            ["u8"] = (byte)1, ["i8"] = (sbyte)-2, ["u16"] = (ushort)3, ["i16"] = (short)-4, ["u32"] = 5u, ["i32"] = -6,
            ["f32"] = 7.5f, ["bool"] = true, ["str"] = "Ġ▁🙂", ["u64"] = ulong.MaxValue, ["i64"] = long.MinValue, ["f64"] = 1e300,
            ["a.u8"] = new byte[] { 1, 2 }, ["a.i8"] = new sbyte[] { -1 }, ["a.u16"] = new ushort[] { 3 }, ["a.i16"] = new short[] { -3 },
            ["a.u32"] = new uint[] { 4 }, ["a.i32"] = new[] { -4 }, ["a.f32"] = new[] { 0.1f }, ["a.bool"] = new[] { true, false },
            ["a.str"] = new[] { "a", "" }, ["a.u64"] = new ulong[] { 5 }, ["a.i64"] = new long[] { -5 }, ["a.f64"] = new[] { 0.2 },
            ["nested"] = nested,
        };
        if (alignment is uint al) writer.Add(GgufKeys.Alignment, al);
        foreach ((string k, object v) in values) writer.Add(k, v);

        float[] w1 = Enumerable.Range(0, 6).Select(i => i * 0.5f).ToArray();
        byte[] w2 = Enumerable.Range(0, 34 * 2).Select(i => (byte)i).ToArray();
        writer.AddTensor("w1", GgmlType.F32, [3, 2], s => s.Write(MemoryMarshal.AsBytes(w1.AsSpan())));
        writer.AddTensor("w2", GgmlType.Q8_0, [32, 2], s => s.Write(w2));

        using var dir = new TempDirectory();
        string path = dir.File("rt.gguf");
        writer.Write(path);
        Assert.False(File.Exists(path + ".partial"));

        using GgufFile file = GgufFile.Open(path);
        int align = (int)(alignment ?? 32);
        Assert.Equal(align, file.Header.Alignment);
        Assert.Equal(0, file.Header.DataOffset % align);
        foreach ((string k, object v) in values)
        {
            if (k == "nested") continue;
            Assert.Equal(v, file.Metadata[k]);
            Assert.IsType(v.GetType(), file.Metadata[k]);
        }
        object[] readNested = Assert.IsType<object[]>(file.Metadata["nested"]);
        Assert.Equal(["x", "y"], Assert.IsType<string[]>(readNested[0]));
        Assert.Equal([1.5, -2.5], Assert.IsType<double[]>(readNested[1]));
        Assert.Equal(new byte[] { 9 }, Assert.IsType<byte[]>(Assert.IsType<object[]>(readNested[2])[0]));

        Assert.Equal(w1, new ReadOnlySpan<float>((void*)file.Tensors[0].Data, 6).ToArray());
        Assert.Equal(w2, new ReadOnlySpan<byte>((void*)file.Tensors[1].Data, w2.Length).ToArray());
        Assert.All(file.Header.Tensors, t => Assert.Equal(0, t.Offset % align));
    }

    [Fact]
    public void ATensorCallbackThatWritesTheWrongLengthLeavesNoFile()
    {
        var writer = new GgufWriter();
        writer.AddTensor("w", GgmlType.F32, [4], s => s.Write(new byte[12]));
        using var dir = new TempDirectory();
        string path = dir.File("bad.gguf");
        var e = Assert.Throws<InvalidOperationException>(() => writer.Write(path));
        Assert.Contains("tensor 'w' wrote 12 bytes, expected 16", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void RefusesValuesGgufCannotHold()
    {
        var writer = new GgufWriter();
        Assert.Throws<ArgumentException>(() => writer.Add("d", 1m));
        Assert.Throws<ArgumentException>(() => writer.Add("c", new[] { 'a' }));
        Assert.Throws<ArgumentException>(() => writer.Add("n", new object[] { 1 }));
        Assert.Throws<ArgumentException>(() => writer.Add("deep", new object[] { new object[] { new object[] { new object[] { new int[0] } } } }));
        writer.Add("k", 1);
        Assert.Throws<ArgumentException>(() => writer.Add("k", 2));
        Assert.Throws<ArgumentException>(() => writer.AddTensor("q", GgmlType.Q8_0, [16], _ => { }));
    }
}
