using SpecDec.Tensors;

namespace SpecDec.Formats.Gguf;

/// <summary>
/// A GGUF file, memory-mapped and with its header parsed and validated. Tensors point into the mapping,
/// which stays alive until Dispose.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    private readonly MappedFile _file;

    private GgufFile(MappedFile file, GgufHeader header)
    {
        _file = file;
        Header = header;
        var tensors = new WeightTensor[header.Tensors.Count];
        for (int i = 0; i < tensors.Length; i++)
        {
            GgufTensorInfo t = header.Tensors[i];
            tensors[i] = new WeightTensor(t.Name, t.Type, t.Dims, (nint)(file.Pointer + header.DataOffset + t.Offset), t.ByteLength);
        }
        Tensors = tensors;
    }

    public string Path => _file.Path;
    public long Length => _file.Length;
    public GgufHeader Header { get; }
    public IReadOnlyDictionary<string, object> Metadata => Header.Metadata;

    /// <summary>The tensor table in file order, pointing into the mapping.</summary>
    public IReadOnlyList<WeightTensor> Tensors { get; }

    public static GgufFile Open(string path)
    {
        MappedFile file = MappedFile.Open(path);
        try
        {
            return new GgufFile(file, GgufParser.Parse(file.Head, file.Length, path));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Drops <paramref name="tensor"/>'s resident pages (see <see cref="MappedFile.Evict"/>).</summary>
    internal void Evict(WeightTensor tensor) => _file.Evict((byte*)tensor.Data, tensor.ByteLength);

    public void Dispose() => _file.Dispose();
}
