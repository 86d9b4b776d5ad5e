using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SpecDec.Formats;
using SpecDec.Formats.Safetensors;
using SpecDec.Tensors;

namespace SpecDec.Tests.Formats.HuggingFace;

public sealed class SafetensorsFileTests
{
    [Fact]
    public unsafe void MapsTensorsWithDimsInGgufOrder()
    {
        float[] a = [1, 2, 3, 4, 5, 6];
        Half[] b = [(Half)1.5, (Half)(-2)];
        ushort[] c = [0x3F80, 0xC000]; // bf16 1.0, -2.0
        byte[] bytes = SafetensorsBytes.Build(
        [
            ("a", "F32", [2, 3], MemoryMarshal.AsBytes(a.AsSpan()).ToArray()),
            ("b", "F16", [2], MemoryMarshal.AsBytes(b.AsSpan()).ToArray()),
            ("c", "BF16", [1, 2], MemoryMarshal.AsBytes(c.AsSpan()).ToArray()),
        ], "{\"format\":\"pt\"}");
        using var dir = new TempDirectory();
        using SafetensorsFile file = SafetensorsFile.Open(dir.Write("m.safetensors", bytes));

        Assert.Equal("pt", file.Metadata["format"]);
        var ta = file.Find("a")!;
        Assert.Equal(GgmlType.F32, ta.Type);
        Assert.Equal([3L, 2L], ta.Dims); // PyTorch [2, 3] → rows of 3
        Assert.Equal(a, new ReadOnlySpan<float>((void*)ta.Data, 6).ToArray());
        Assert.Equal(b, new ReadOnlySpan<Half>((void*)file.Find("b")!.Data, 2).ToArray());
        var tc = file.Find("c")!;
        Assert.Equal(GgmlType.BF16, tc.Type);
        Assert.Equal([2L, 1L], tc.Dims);
        Assert.Equal(c, new ReadOnlySpan<ushort>((void*)tc.Data, 2).ToArray());
    }

    private static byte[] Raw(ulong headerLength, string json)
    {
        byte[] body = System.Text.Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + body.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength);
        body.CopyTo(bytes, 8);
        return bytes;
    }

    /// <summary>A name with the byte 0xFF, which UTF-8 never uses.</summary>
    private static byte[] NotUtf8()
    {
        byte[] bytes = SafetensorsBytes.Assemble("{\"x\": 1}", []);
        bytes[10] = 0xFF;
        return bytes;
    }

    public static TheoryData<string, byte[], string> Corrupt() => new()
    {
        { "short", [1, 2, 3], "too short for the safetensors header length" },
        { "huge header", Raw(1ul << 40, "{}"), "exceeds the format's limit of 100000000 bytes" },
        { "header past end", Raw(100, "{}"), "truncated: the header needs 100 bytes" },
        { "not json", SafetensorsBytes.Assemble("{\"a\": ", []), "safetensors header is not valid JSON" },
        { "not utf-8", NotUtf8(), "safetensors header is not valid UTF-8" },
        { "not object", SafetensorsBytes.Assemble("[1]", []), "header is not a JSON object" },
        { "dtype", SafetensorsBytes.Build([("w", "I64", [1], new byte[8])]), "tensor w has dtype I64; supported are F32, F16 and BF16" },
        { "no shape", SafetensorsBytes.Assemble("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4]), "tensor w has no shape array" },
        { "negative dim", SafetensorsBytes.Assemble("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]), "tensor w has an impossible shape [-1]" },
        { "huge shape", SafetensorsBytes.Assemble("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", new byte[4]), "impossible shape" },
        { "rank 5", SafetensorsBytes.Assemble("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", new byte[4]), "has rank 5" },
        { "outside", SafetensorsBytes.Assemble("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[8]), "data_offsets [4, 12] lie outside the 8 data bytes" },
        { "length", SafetensorsBytes.Assemble("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]), "has 8 bytes, but shape [3] of F32 needs 12" },
        { "offset not a number", SafetensorsBytes.Assemble("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[true,4]}}", new byte[4]), "tensor w has no [begin, end] data_offsets" },
        { "dim not a number", SafetensorsBytes.Assemble("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", new byte[4]), "tensor w has an impossible shape" },
        { "duplicate", SafetensorsBytes.Assemble("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "tensor w appears twice" },
    };

    [Theory]
    [MemberData(nameof(Corrupt))]
    public void RefusesNamingTheFile(string name, byte[] bytes, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.Write(name.Replace(' ', '-') + ".safetensors", bytes);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Equal(path, e.FilePath);
        Assert.Contains(expected, e.Message);
    }
}
