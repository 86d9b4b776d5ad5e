using SpecDec.Formats.Gguf;

namespace SpecDec.Tests.Formats.Gguf;

/// <summary>Each way a GGUF header can be wrong ends in a ModelFormatException naming the file and the problem.</summary>
public sealed class GgufCorruptionTests
{
    /// <summary>A valid file: one string key, one F32 [4, 2] tensor.</summary>
    internal static byte[] ValidFile()
    {
        var b = new SpecBytes().Header(3, 1, 2)
            .Key("general.architecture", 8).Str("llama")
            .Key("tokenizer.ggml.tokens", 9).U32(8).U64(2).Str("a").Str("b")
            .Tensor("w", [4, 2], 0, 0).PadTo(32);
        return b.Raw(new byte[32]).ToArray();
    }

    public static TheoryData<string, byte[], string> Cases() => new()
    {
        { "wrong magic", new SpecBytes().Raw("GGML"u8).U32(3).U64(0).U64(0).ToArray(), "not a GGUF file" },
        { "version 1", new SpecBytes().Header(1, 0, 0).ToArray(), "GGUF v1 is not supported" },
        { "big-endian", new SpecBytes().Raw("GGUF"u8).Raw([0, 0, 0, 3]).U64(0).U64(0).ToArray(), "big-endian" },
        { "version 4", new SpecBytes().Header(4, 0, 0).ToArray(), "unsupported GGUF version 4" },
        { "absurd tensor count", new SpecBytes().Header(3, 1ul << 40, 0).ToArray(), "tensor count 1099511627776 is impossible" },
        { "absurd metadata count", new SpecBytes().Header(3, 0, ulong.MaxValue).ToArray(), "metadata count" },
        { "absurd key length", new SpecBytes().Header(3, 0, 1).U64(1ul << 62).U64(0).ToArray(), "string length 4611686018427387904 is impossible" },
        { "absurd array length", new SpecBytes().Header(3, 0, 1).Key("a", 9).U32(6).U64(1ul << 61).ToArray(), "array length 2305843009213693952 is impossible" },
        { "absurd string array", new SpecBytes().Header(3, 0, 1).Key("a", 9).U32(8).U64(1000).Str("x").ToArray(), "array length 1000 is impossible" },
        { "unknown value type", new SpecBytes().Header(3, 0, 1).Key("k", 13).U32(0).ToArray(), "unknown metadata value type 13 (in metadata 'k'" },
        { "unknown element type", new SpecBytes().Header(3, 0, 1).Key("k", 9).U32(77).U64(0).ToArray(), "unknown array element type 77" },
        { "bad bool", new SpecBytes().Header(3, 0, 1).Key("flag", 7).U8(2).ToArray(), "bool value 2" },
        { "duplicate key", new SpecBytes().Header(3, 0, 2).Key("k", 4).U32(1).Key("k", 4).U32(2).ToArray(), "duplicate metadata key 'k'" },
        { "deep nesting", Nested(6), "nested deeper" },
        { "alignment type", new SpecBytes().Header(3, 0, 1).Key("general.alignment", 5).I32(32).ToArray(), "general.alignment must be a uint32" },
        { "alignment not power of two", new SpecBytes().Header(3, 0, 1).Key("general.alignment", 4).U32(48).ToArray(), "48 is not a power of two" },
        { "zero dims", WithTensor(t => t.Str("w").U32(0).U32(0).U64(0)), "tensor 'w' has 0 dimensions" },
        { "five dims", WithTensor(t => t.Tensor("w", [1, 1, 1, 1, 1], 0, 0)), "tensor 'w' has 5 dimensions" },
        { "zero dim", WithTensor(t => t.Tensor("w", [4, 0], 0, 0)), "tensor 'w' dimension 1 is 0" },
        { "overflowing dims", WithTensor(t => t.Tensor("w", [1ul << 32, 1ul << 32], 0, 0)), "tensor 'w' dimension 1 is 4294967296" },
        { "huge tensor", WithTensor(t => t.Tensor("w", [1ul << 20, 1ul << 20], 0, 0)), "needs more bytes than the file has" },
        { "unknown tensor type", WithTensor(t => t.Tensor("blk.0.attn_q.weight", [4], 99, 0)), "unknown type id 99 for tensor 'blk.0.attn_q.weight'" },
        { "partial block", WithTensor(t => t.Tensor("w", [33], 8, 0)), "not whole Q8_0 blocks of 32" },
        { "misaligned offset", WithTensor(t => t.Tensor("w", [4], 0, 4)), "data offset 4 is not a multiple of the alignment 32" },
        { "data out of bounds", WithTensor(t => t.Tensor("w", [4], 0, 64)), "tensor 'w' data" },
        { "duplicate tensor", DuplicateTensor(), "duplicate tensor name 'w'" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RefusesWithTheFileAndTheProblem(string name, byte[] bytes, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.Write(name.Replace(' ', '-') + ".gguf", bytes);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void EveryTruncationIsRefused()
    {
        byte[] valid = ValidFile();
        using var dir = new TempDirectory();
        using (GgufFile.Open(dir.Write("valid.gguf", valid))) { }
        // Tensor data ends the file, so every shorter prefix is missing something.
        for (int length = 0; length < valid.Length; length++)
        {
            string path = dir.Write($"cut{length}.gguf", valid[..length]);
            var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path).Dispose());
            Assert.StartsWith(path + ": ", e.Message);
        }
    }

    [Fact]
    public void TruncationNamesTheFieldWhereTheFileEnded()
    {
        byte[] valid = ValidFile();
        // Cut two bytes into "llama", the value of general.architecture.
        int cut = valid.AsSpan().IndexOf("llama"u8) + 2;
        using var dir = new TempDirectory();
        string path = dir.Write("cut.gguf", valid[..cut]);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.Contains("string length 5 is impossible: only 2 bytes remain (in metadata 'general.architecture'", e.Message);
        // A cut inside a fixed-size field says "truncated" and which field.
        int inCount = valid.AsSpan().IndexOf("tokenizer"u8) + "tokenizer.ggml.tokens".Length + 4 + 4 + 3;
        path = dir.Write("cut2.gguf", valid[..inCount]);
        e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.Contains("truncated: array length in metadata 'tokenizer.ggml.tokens' needs 8 bytes", e.Message);
    }

    private static byte[] WithTensor(Action<SpecBytes> tensor)
    {
        var b = new SpecBytes().Header(3, 1, 0);
        tensor(b);
        return b.PadTo(32).Raw(new byte[32]).ToArray();
    }

    private static byte[] DuplicateTensor() =>
        new SpecBytes().Header(3, 2, 0).Tensor("w", [4], 0, 0).Tensor("w", [4], 0, 32).PadTo(32).Raw(new byte[64]).ToArray();

    private static byte[] Nested(int depth)
    {
        var b = new SpecBytes().Header(3, 0, 1).Key("deep", 9);
        for (int i = 1; i < depth; i++) b.U32(9).U64(1);
        return b.U32(4).U64(0).ToArray();
    }
}
