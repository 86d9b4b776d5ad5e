using System.Buffers.Binary;
using System.Text;

namespace SpecDec.Formats.Gguf;

/// <summary>
/// Little-endian reads over a GGUF header with a bounds check before every read. Context names the item
/// being parsed (a metadata key, a tensor) so a truncation message says where the file ended.
/// </summary>
internal ref struct GgufCursor
{
    private readonly ReadOnlySpan<byte> _bytes;
    private readonly string _path;

    public GgufCursor(ReadOnlySpan<byte> bytes, string path)
    {
        _bytes = bytes;
        _path = path;
    }

    public int Position { get; private set; }
    public readonly int Remaining => _bytes.Length - Position;

    /// <summary>What is being read, for error messages ("metadata key #3", "tensor 'blk.0.attn_q.weight'").</summary>
    public string Context { get; set; } = "header";

    public readonly ModelFormatException Error(string problem) => new(_path, $"{problem} (in {Context}, at byte {Position})");

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count > Remaining)
            throw new ModelFormatException(_path,
                $"truncated: {field} in {Context} needs {count} bytes at byte {Position}, but only {Remaining} remain");
        ReadOnlySpan<byte> span = _bytes.Slice(Position, count);
        Position += count;
        return span;
    }

    public byte ReadU8(string field) => Take(1, field)[0];
    public ushort ReadU16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field));
    public uint ReadU32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));
    public ulong ReadU64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));
    public ReadOnlySpan<byte> ReadBytes(int count, string field) => Take(count, field);
    public float ReadF32(string field) => BinaryPrimitives.ReadSingleLittleEndian(Take(4, field));
    public double ReadF64(string field) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, field));

    /// <summary>
    /// A count that must describe items of at least <paramref name="minItemBytes"/> bytes each still in the
    /// file; this is what keeps a corrupt count from turning into a huge allocation.
    /// </summary>
    public int ReadCount(string field, int minItemBytes)
    {
        ulong count = ReadU64(field);
        if (count > (ulong)Remaining / (ulong)Math.Max(minItemBytes, 1))
            throw Error($"{field} {count} is impossible: only {Remaining} bytes remain");
        return (int)count;
    }

    /// <summary>A gguf_string: uint64 byte length, then UTF-8 bytes (invalid sequences become U+FFFD).</summary>
    public string ReadString(string field)
    {
        int length = ReadCount("string length", 1);
        return Encoding.UTF8.GetString(Take(length, field));
    }
}
