namespace SpecDec.Formats.Gguf;

/// <summary>
/// Everything in a GGUF file before the tensor data: version, metadata (in file order; scalars as their
/// .NET types, arrays as typed .NET arrays, nested arrays as object[]), the tensor table, the alignment and
/// the absolute offset where tensor data begins.
/// </summary>
public sealed class GgufHeader
{
    public GgufHeader(uint version, OrderedDictionary<string, object> metadata, IReadOnlyList<GgufTensorInfo> tensors,
        int alignment, long dataOffset)
    {
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
    }

    public uint Version { get; }
    public OrderedDictionary<string, object> Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public int Alignment { get; }
    public long DataOffset { get; }
}
