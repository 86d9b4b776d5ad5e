using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;
using SpecDec.Tensors;

namespace SpecDec.Formats.Safetensors;

/// <summary>
/// One memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header
/// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the tensor bytes.
/// Tensors keep their file names; dims are reversed into GGUF order (Dims[0] contiguous).
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The format's own limit on the JSON header (safetensors' MAX_HEADER_SIZE).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MappedFile _file;
    private readonly Dictionary<string, WeightTensor> _byName;

    private SafetensorsFile(MappedFile file, List<WeightTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _file = file;
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name);
    }

    public string Path => _file.Path;
    public IReadOnlyList<WeightTensor> Tensors { get; }

    /// <summary>The header's "__metadata__" strings (e.g. {"format": "pt"}).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public WeightTensor? Find(string name) => _byName.GetValueOrDefault(name);

    public static SafetensorsFile Open(string path)
    {
        MappedFile file = MappedFile.Open(path);
        try
        {
            (List<WeightTensor> tensors, Dictionary<string, string> metadata) = Parse(file, path);
            return new SafetensorsFile(file, tensors, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static (List<WeightTensor>, Dictionary<string, string>) Parse(MappedFile file, string path)
    {
        if (file.Length < 8) throw new ModelFormatException(path, $"truncated: {file.Length} bytes, too short for the safetensors header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(file.Pointer, 8));
        if (headerLength > MaxHeaderBytes)
            throw new ModelFormatException(path, $"safetensors header length {headerLength} exceeds the format's limit of {MaxHeaderBytes} bytes (not a safetensors file?)");
        if ((long)headerLength > file.Length - 8)
            throw new ModelFormatException(path, $"truncated: the header needs {headerLength} bytes but the file has {file.Length - 8} after the length");

        long dataStart = 8 + (long)headerLength;
        long dataLength = file.Length - dataStart;
        var header = new ReadOnlySpan<byte>(file.Pointer + 8, (int)headerLength);
        // JsonDocument accepts invalid UTF-8 inside strings and throws only when a name is read.
        if (!Utf8.IsValid(header)) throw new ModelFormatException(path, "safetensors header is not valid UTF-8");
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(new ReadOnlyMemory<byte>(header.ToArray()));
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"safetensors header is not valid JSON: {e.Message}", e);
        }

        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object) throw new ModelFormatException(path, "safetensors header is not a JSON object");
            var tensors = new List<WeightTensor>();
            var metadata = new Dictionary<string, string>();
            var seen = new HashSet<string>();
            foreach (JsonProperty entry in json.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    ReadMetadata(entry.Value, metadata, path);
                    continue;
                }
                if (!seen.Add(entry.Name)) throw new ModelFormatException(path, $"tensor {entry.Name} appears twice in the header");
                SafetensorsEntry t = SafetensorsEntry.Parse(entry.Name, entry.Value, dataLength, path);
                tensors.Add(new WeightTensor(t.Name, t.Type, t.GgufDims, (nint)(file.Pointer + dataStart + t.Begin), t.ByteLength));
            }
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object) throw new ModelFormatException(path, "__metadata__ is not a JSON object");
        foreach (JsonProperty p in value.EnumerateObject())
            metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
    }

    public void Dispose() => _file.Dispose();
}
