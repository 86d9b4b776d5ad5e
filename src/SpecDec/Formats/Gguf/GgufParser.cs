using SpecDec.Tensors;

namespace SpecDec.Formats.Gguf;

/// <summary>
/// Parses and validates a GGUF v2/v3 header (spec: ggml/docs/gguf.md): magic, version, metadata, tensor
/// table, alignment and data offset. Every count and length is checked against the bytes that remain
/// before anything is allocated, and every tensor's byte range against the file size, so a corrupt file
/// ends in a <see cref="ModelFormatException"/> naming the file and the field.
/// </summary>
internal static class GgufParser
{
    /// <summary>GGML_MAX_DIMS.</summary>
    public const int MaxDims = 4;

    private const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32

    /// <summary>Smallest possible metadata entry: empty key (8), type (4), one-byte value.</summary>
    private const int MinKeyValueBytes = 13;

    /// <summary>Smallest possible tensor info: empty name (8), n_dims (4), one dim (8), type (4), offset (8).</summary>
    private const int MinTensorInfoBytes = 32;

    /// <param name="head">The file's bytes from the start (all of it, or its first 2 GiB).</param>
    /// <param name="fileLength">The whole file's size, against which tensor data ranges are checked.</param>
    /// <param name="path">Named in every error.</param>
    public static GgufHeader Parse(ReadOnlySpan<byte> head, long fileLength, string path)
    {
        var cursor = new GgufCursor(head, path) { Context = "the file header" };
        uint magic = cursor.ReadU32("magic");
        if (magic != Magic)
            throw new ModelFormatException(path, $"not a GGUF file: magic bytes are {Convert.ToHexString(head[..4])}, expected 47475546 (\"GGUF\")");
        uint version = cursor.ReadU32("version");
        CheckVersion(version, path);

        int tensorCount = cursor.ReadCount("tensor count", MinTensorInfoBytes);
        int kvCount = cursor.ReadCount("metadata count", MinKeyValueBytes);

        var metadata = new OrderedDictionary<string, object>(kvCount);
        for (int i = 0; i < kvCount; i++)
        {
            cursor.Context = $"metadata entry #{i}";
            string key = cursor.ReadString("key");
            cursor.Context = $"metadata '{key}'";
            var type = (GgufValueType)cursor.ReadU32("value type");
            object value = GgufValueReader.ReadValue(ref cursor, type);
            if (!metadata.TryAdd(key, value)) throw cursor.Error($"duplicate metadata key '{key}'");
        }

        int alignment = ReadAlignment(metadata, path);
        var tensors = new List<GgufTensorInfo>(tensorCount);
        var names = new HashSet<string>(tensorCount);
        for (int i = 0; i < tensorCount; i++)
        {
            cursor.Context = $"tensor info #{i}";
            GgufTensorInfo tensor = ReadTensorInfo(ref cursor, fileLength, alignment);
            if (!names.Add(tensor.Name)) throw cursor.Error($"duplicate tensor name '{tensor.Name}'");
            tensors.Add(tensor);
        }

        long dataOffset = AlignUp(cursor.Position, alignment);
        foreach (GgufTensorInfo t in tensors)
        {
            if (t.Offset > fileLength - dataOffset - t.ByteLength)
                throw new ModelFormatException(path,
                    $"tensor '{t.Name}' data [{dataOffset + t.Offset}, {dataOffset + t.Offset + t.ByteLength}) lies outside the file ({fileLength} bytes)");
        }
        return new GgufHeader(version, metadata, tensors, alignment, dataOffset);
    }

    private static void CheckVersion(uint version, string path)
    {
        if (version is 2 or 3) return;
        if (version == 1) throw new ModelFormatException(path, "GGUF v1 is not supported (v2 and v3 are); re-convert the model");
        if ((version & 0xFFFF) == 0 && version >> 16 != 0)
            throw new ModelFormatException(path, "big-endian GGUF is not supported");
        throw new ModelFormatException(path, $"unsupported GGUF version {version} (v2 and v3 are supported)");
    }

    private static int ReadAlignment(OrderedDictionary<string, object> metadata, string path)
    {
        if (!metadata.TryGetValue(GgufKeys.Alignment, out object? value)) return GgufKeys.DefaultAlignment;
        if (value is not uint alignment)
            throw new ModelFormatException(path, $"{GgufKeys.Alignment} must be a uint32, found {value.GetType().Name}");
        if (alignment == 0 || alignment > 1u << 30 || (alignment & (alignment - 1)) != 0)
            throw new ModelFormatException(path, $"{GgufKeys.Alignment} {alignment} is not a power of two");
        return (int)alignment;
    }

    private static GgufTensorInfo ReadTensorInfo(ref GgufCursor cursor, long fileLength, int alignment)
    {
        string name = cursor.ReadString("name");
        cursor.Context = $"tensor '{name}'";
        uint nDims = cursor.ReadU32("dimension count");
        if (nDims is 0 or > MaxDims) throw cursor.Error($"tensor '{name}' has {nDims} dimensions (1 to {MaxDims} allowed)");

        var dims = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++)
        {
            ulong dim = cursor.ReadU64("dimension");
            // Zero and overflowing products are refused here; the byte bound below catches the merely too large.
            if (dim == 0 || dim > (ulong)long.MaxValue / (ulong)elements)
                throw cursor.Error($"tensor '{name}' dimension {d} is {dim}");
            dims[d] = (long)dim;
            elements *= (long)dim;
        }

        uint typeId = cursor.ReadU32("type");
        var type = (GgmlType)typeId;
        if (!GgmlTypeInfo.TryGetLayout(type, out int blockSize, out int blockBytes))
            throw cursor.Error($"unknown type id {typeId} for tensor '{name}'");
        if (dims[0] % blockSize != 0)
            throw cursor.Error($"tensor '{name}' rows of {dims[0]} elements are not whole {type} blocks of {blockSize}");
        long blocks = elements / blockSize;
        if (blocks > fileLength / blockBytes)
            throw cursor.Error($"tensor '{name}' [{string.Join(", ", dims)}] {type} needs more bytes than the file has ({fileLength})");
        long byteLength = blocks * blockBytes;

        ulong offset = cursor.ReadU64("data offset");
        if (offset % (ulong)alignment != 0)
            throw cursor.Error($"tensor '{name}' data offset {offset} is not a multiple of the alignment {alignment}");
        if (offset > (ulong)fileLength)
            throw cursor.Error($"tensor '{name}' data offset {offset} lies past the end of the file ({fileLength} bytes)");
        return new GgufTensorInfo(name, type, dims, (long)offset, byteLength);
    }

    public static long AlignUp(long position, int alignment) => (position + alignment - 1) / alignment * alignment;
}
