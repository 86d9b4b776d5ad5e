using SpecDec.Tensors;

namespace SpecDec.Formats.Gguf;

/// <summary>
/// One entry of a GGUF tensor table. Dims are in GGUF order (Dims[0] contiguous); Offset is relative to the
/// start of the data section and ByteLength is what the type and dims imply.
/// </summary>
public sealed record GgufTensorInfo(string Name, GgmlType Type, long[] Dims, long Offset, long ByteLength)
{
    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Dims)}]";
}
