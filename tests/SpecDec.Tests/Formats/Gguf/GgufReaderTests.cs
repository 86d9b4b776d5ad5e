using System.Runtime.InteropServices;
using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Tensors;

namespace SpecDec.Tests.Formats.Gguf;

/// <summary>The reader against hand-built files that follow the GGUF spec byte by byte.</summary>
public sealed class GgufReaderTests
{
    [Theory]
    [InlineData(2u)]
    [InlineData(3u)]
    public void ReadsEveryMetadataValueType(uint version)
    {
        byte[] bytes = new SpecBytes().Header(version, tensors: 0, kvs: 15)
            .Key("u8", 0).U8(200)
            .Key("i8", 1).I8(-100)
            .Key("u16", 2).U16(60000)
            .Key("i16", 3).I16(-30000)
            .Key("u32", 4).U32(4_000_000_000)
            .Key("i32", 5).I32(-2_000_000_000)
            .Key("f32", 6).F32(1.5e-5f)
            .Key("bool", 7).U8(1)
            .Key("str", 8).Str("héllo ▁wörld 🙂")
            .Key("u64", 10).U64(18_000_000_000_000_000_000)
            .Key("i64", 11).I64(-9_000_000_000_000_000_000)
            .Key("f64", 12).F64(Math.PI)
            .Key("strings", 9).U32(8).U64(3).Str("a").Str("").Str("Ġthe")
            .Key("floats", 9).U32(6).U64(2).F32(-1f).F32(0.25f)
            .Key("nested", 9).U32(9).U64(2)
                .U32(5).U64(2).I32(7).I32(-8)
                .U32(8).U64(1).Str("x")
            .ToArray();

        using var dir = new TempDirectory();
        using GgufFile file = GgufFile.Open(dir.Write("m.gguf", bytes));
        IReadOnlyDictionary<string, object> m = file.Metadata;

        Assert.Equal(version, file.Header.Version);
        Assert.Equal((byte)200, Assert.IsType<byte>(m["u8"]));
        Assert.Equal((sbyte)-100, Assert.IsType<sbyte>(m["i8"]));
        Assert.Equal((ushort)60000, Assert.IsType<ushort>(m["u16"]));
        Assert.Equal((short)-30000, Assert.IsType<short>(m["i16"]));
        Assert.Equal(4_000_000_000u, Assert.IsType<uint>(m["u32"]));
        Assert.Equal(-2_000_000_000, Assert.IsType<int>(m["i32"]));
        Assert.Equal(1.5e-5f, Assert.IsType<float>(m["f32"]));
        Assert.True(Assert.IsType<bool>(m["bool"]));
        Assert.Equal("héllo ▁wörld 🙂", Assert.IsType<string>(m["str"]));
        Assert.Equal(18_000_000_000_000_000_000ul, Assert.IsType<ulong>(m["u64"]));
        Assert.Equal(-9_000_000_000_000_000_000L, Assert.IsType<long>(m["i64"]));
        Assert.Equal(Math.PI, Assert.IsType<double>(m["f64"]));
        Assert.Equal(["a", "", "Ġthe"], Assert.IsType<string[]>(m["strings"]));
        Assert.Equal([-1f, 0.25f], Assert.IsType<float[]>(m["floats"]));
        object[] nested = Assert.IsType<object[]>(m["nested"]);
        Assert.Equal([7, -8], Assert.IsType<int[]>(nested[0]));
        Assert.Equal(["x"], Assert.IsType<string[]>(nested[1]));
        Assert.Equal(m.Keys, ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "u64", "i64", "f64", "strings", "floats", "nested"]);
    }

    [Fact]
    public void ReadsEveryPrimitiveArrayType()
    {
        byte[] bytes = new SpecBytes().Header(3, 0, 11)
            .Key("u8", 9).U32(0).U64(2).U8(1).U8(255)
            .Key("i8", 9).U32(1).U64(1).I8(-1)
            .Key("u16", 9).U32(2).U64(1).U16(65535)
            .Key("i16", 9).U32(3).U64(1).I16(-2)
            .Key("u32", 9).U32(4).U64(2).U32(3).U32(1)
            .Key("i32", 9).U32(5).U64(3).I32(1).I32(-6).I32(3)
            .Key("bool", 9).U32(7).U64(2).U8(0).U8(1)
            .Key("u64", 9).U32(10).U64(1).U64(ulong.MaxValue)
            .Key("i64", 9).U32(11).U64(1).I64(long.MinValue)
            .Key("f64", 9).U32(12).U64(1).F64(-0.5)
            .Key("empty", 9).U32(8).U64(0)
            .ToArray();
        using var dir = new TempDirectory();
        using GgufFile file = GgufFile.Open(dir.Write("a.gguf", bytes));
        IReadOnlyDictionary<string, object> m = file.Metadata;
        Assert.Equal(new byte[] { 1, 255 }, Assert.IsType<byte[]>(m["u8"]));
        Assert.Equal(new sbyte[] { -1 }, Assert.IsType<sbyte[]>(m["i8"]));
        Assert.Equal(new ushort[] { 65535 }, Assert.IsType<ushort[]>(m["u16"]));
        Assert.Equal(new short[] { -2 }, Assert.IsType<short[]>(m["i16"]));
        Assert.Equal(new uint[] { 3, 1 }, Assert.IsType<uint[]>(m["u32"]));
        Assert.Equal(new[] { 1, -6, 3 }, Assert.IsType<int[]>(m["i32"]));
        Assert.Equal(new[] { false, true }, Assert.IsType<bool[]>(m["bool"]));
        Assert.Equal(new[] { ulong.MaxValue }, Assert.IsType<ulong[]>(m["u64"]));
        Assert.Equal(new[] { long.MinValue }, Assert.IsType<long[]>(m["i64"]));
        Assert.Equal(new[] { -0.5 }, Assert.IsType<double[]>(m["f64"]));
        Assert.Empty(Assert.IsType<string[]>(m["empty"]));
    }

    [Theory]
    [InlineData(2u, null)]
    [InlineData(3u, null)]
    [InlineData(3u, 64u)]
    [InlineData(2u, 8u)]
    public unsafe void PlacesTensorDataAtTheAlignedOffsets(uint version, uint? alignment)
    {
        int align = (int)(alignment ?? 32);
        var b = new SpecBytes().Header(version, tensors: 2, kvs: alignment is null ? 1ul : 2ul)
            .Key("general.architecture", 8).Str("llama");
        if (alignment is uint a) b.Key("general.alignment", 4).U32(a);
        // a: F32 [3, 2] = 24 bytes at 0; b: F16 [5] = 10 bytes at the next aligned offset.
        long bOffset = (24 + align - 1) / align * align;
        b.Tensor("a", [3, 2], 0, 0).Tensor("b", [5], 1, (ulong)bOffset);
        b.PadTo(align);
        long dataOffset = b.Length;
        float[] aValues = [1, 2, 3, 4, 5, 6];
        b.Raw(MemoryMarshal.AsBytes(aValues.AsSpan())).PadTo(align);
        Half[] bValues = [(Half)0.5, (Half)(-1), (Half)2, (Half)3, (Half)4];
        b.Raw(MemoryMarshal.AsBytes(bValues.AsSpan()));

        using var dir = new TempDirectory();
        using GgufFile file = GgufFile.Open(dir.Write("t.gguf", b.ToArray()));
        Assert.Equal(align, file.Header.Alignment);
        Assert.Equal(dataOffset, file.Header.DataOffset);
        Assert.Equal(["a", "b"], file.Tensors.Select(t => t.Name));
        Assert.Equal([3L, 2L], file.Tensors[0].Dims);
        Assert.Equal(GgmlType.F32, file.Tensors[0].Type);
        Assert.Equal(24, file.Tensors[0].ByteLength);
        Assert.Equal(aValues, new ReadOnlySpan<float>((void*)file.Tensors[0].Data, 6).ToArray());
        Assert.Equal(GgmlType.F16, file.Tensors[1].Type);
        Assert.Equal(10, file.Tensors[1].ByteLength);
        Assert.Equal(bValues, new ReadOnlySpan<Half>((void*)file.Tensors[1].Data, 5).ToArray());
    }

    [Fact]
    public void ComputesQuantizedTensorSizesFromBlocks()
    {
        // Q8_0 [64, 3]: 2 blocks of 34 bytes per row → 204 bytes.
        var b = new SpecBytes().Header(3, 1, 0).Tensor("q", [64, 3], 8, 0).PadTo(32);
        b.Raw(new byte[204]);
        using var dir = new TempDirectory();
        using GgufFile file = GgufFile.Open(dir.Write("q.gguf", b.ToArray()));
        Assert.Equal(GgmlType.Q8_0, file.Tensors[0].Type);
        Assert.Equal(204, file.Tensors[0].ByteLength);
        Assert.Equal(68, file.Tensors[0].RowBytes);
    }
}
