using System.Runtime.InteropServices;
using System.Text;
using SpecDec.Tensors;

namespace SpecDec.Formats.Gguf;

/// <summary>
/// Writes a GGUF v3 file: metadata in the order added, then the tensor table, then each tensor's data
/// at offsets aligned to <c>general.alignment</c> (32 unless that key is set). Tensor data is produced by
/// a callback at write time, so a converter streams one tensor at a time instead of holding a model in memory.
/// </summary>
public sealed class GgufWriter
{
    private readonly OrderedDictionary<string, object> _metadata = new();
    private readonly List<PendingTensor> _tensors = [];

    /// <summary>Writes exactly the tensor's byte length (its type and dims imply it) to the stream.</summary>
    public delegate void TensorDataWriter(Stream destination);

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Dims, long ByteLength, TensorDataWriter Data);

    /// <summary>
    /// Adds a metadata value. Its GGUF type follows its .NET type: byte, sbyte, ushort, short, uint, int,
    /// float, bool, string, ulong, long, double, arrays of those, or object[] of such arrays (nested).
    /// </summary>
    public void Add(string key, object value)
    {
        CheckValue(key, value, level: 1);
        if (key == GgufKeys.Alignment && (value is not uint a || a == 0 || (a & (a - 1)) != 0 || a > 1u << 30))
            throw new ArgumentException($"{GgufKeys.Alignment} must be a uint32 power of two", nameof(value));
        if (!_metadata.TryAdd(key, value)) throw new ArgumentException($"metadata key '{key}' added twice", nameof(key));
    }

    /// <param name="dims">GGUF order: dims[0] is the contiguous (row) dimension.</param>
    public void AddTensor(string name, GgmlType type, long[] dims, TensorDataWriter data)
    {
        if (_tensors.Exists(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' added twice", nameof(name));
        if (dims.Length is 0 or > GgufParser.MaxDims || Array.Exists(dims, d => d <= 0))
            throw new ArgumentException($"tensor '{name}' has invalid dims [{string.Join(", ", dims)}]", nameof(dims));
        long elements = 1;
        foreach (long d in dims) elements = checked(elements * d);
        if (dims[0] % GgmlTypeInfo.BlockSize(type) != 0)
            throw new ArgumentException($"tensor '{name}' rows of {dims[0]} are not whole {type} blocks", nameof(dims));
        _tensors.Add(new PendingTensor(name, type, dims, GgmlTypeInfo.ByteCount(type, elements), data));
    }

    /// <summary>Writes the file through <see cref="OutputFile.Write"/>: complete, or not at all.</summary>
    public void Write(string path, CancellationToken cancel = default) => OutputFile.Write(path, s => Write(s, cancel), cancel);

    /// <summary>Writes the whole file to a seekable stream, starting at its current position; <paramref name="cancel"/> is checked before each tensor.</summary>
    public void Write(Stream stream, CancellationToken cancel = default)
    {
        long start = stream.Position;
        int alignment = _metadata.TryGetValue(GgufKeys.Alignment, out object? a) ? (int)(uint)a : GgufKeys.DefaultAlignment;
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach ((string key, object value) in _metadata)
        {
            WriteString(w, key);
            WriteValue(w, value);
        }

        long offset = 0;
        foreach (PendingTensor t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Dims.Length);
            foreach (long d in t.Dims) w.Write((ulong)d);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offset = GgufParser.AlignUp(offset + t.ByteLength, alignment);
        }

        Pad(w, start, alignment);
        foreach (PendingTensor t in _tensors)
        {
            cancel.ThrowIfCancellationRequested();
            w.Flush();
            long before = stream.Position;
            t.Data(stream);
            long written = stream.Position - before;
            if (written != t.ByteLength)
                throw new InvalidOperationException($"tensor '{t.Name}' wrote {written} bytes, expected {t.ByteLength}");
            Pad(w, start, alignment);
        }
        w.Flush();
    }

    private static void Pad(BinaryWriter w, long start, int alignment)
    {
        w.Flush();
        long length = w.BaseStream.Position - start;
        for (long i = length; i < GgufParser.AlignUp(length, alignment); i++) w.Write((byte)0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, object value)
    {
        GgufValueType type = TypeOf(value);
        w.Write((uint)type);
        if (type == GgufValueType.Array) WriteArray(w, (Array)value);
        else WriteScalar(w, value);
    }

    private static void WriteScalar(BinaryWriter w, object value)
    {
        switch (value)
        {
            case byte v: w.Write(v); break;
            case sbyte v: w.Write(v); break;
            case ushort v: w.Write(v); break;
            case short v: w.Write(v); break;
            case uint v: w.Write(v); break;
            case int v: w.Write(v); break;
            case float v: w.Write(v); break;
            case bool v: w.Write((byte)(v ? 1 : 0)); break;
            case string v: WriteString(w, v); break;
            case ulong v: w.Write(v); break;
            case long v: w.Write(v); break;
            case double v: w.Write(v); break;
            default: throw new ArgumentException($"{value.GetType().Name} is not a GGUF scalar");
        }
    }

    private static void WriteArray(BinaryWriter w, Array array)
    {
        GgufValueType elementType = ElementTypeOf(array);
        w.Write((uint)elementType);
        w.Write((ulong)array.Length);
        switch (elementType)
        {
            case GgufValueType.String:
                foreach (string s in (string[])array) WriteString(w, s);
                break;
            case GgufValueType.Array:
                foreach (object inner in (object[])array) WriteArray(w, (Array)inner);
                break;
            default: // primitives (bool included: 0/1 bytes) are stored as their little-endian memory image
                w.Write(MemoryMarshal.CreateReadOnlySpan(ref MemoryMarshal.GetArrayDataReference(array), Buffer.ByteLength(array)));
                break;
        }
    }

    private static GgufValueType TypeOf(object value) => value switch
    {
        byte => GgufValueType.UInt8,
        sbyte => GgufValueType.Int8,
        ushort => GgufValueType.UInt16,
        short => GgufValueType.Int16,
        uint => GgufValueType.UInt32,
        int => GgufValueType.Int32,
        float => GgufValueType.Float32,
        bool => GgufValueType.Bool,
        string => GgufValueType.String,
        ulong => GgufValueType.UInt64,
        long => GgufValueType.Int64,
        double => GgufValueType.Float64,
        Array => GgufValueType.Array,
        _ => throw new ArgumentException($"{value.GetType().Name} has no GGUF metadata type"),
    };

    /// <summary>By exact element type: the CLR lets an int[] pass as a uint[], so type patterns would lie.</summary>
    private static GgufValueType ElementTypeOf(Array array)
    {
        Type element = array.GetType().GetElementType()!;
        if (element == typeof(object)) return GgufValueType.Array;
        return Type.GetTypeCode(element) switch
        {
            TypeCode.Byte => GgufValueType.UInt8,
            TypeCode.SByte => GgufValueType.Int8,
            TypeCode.UInt16 => GgufValueType.UInt16,
            TypeCode.Int16 => GgufValueType.Int16,
            TypeCode.UInt32 => GgufValueType.UInt32,
            TypeCode.Int32 => GgufValueType.Int32,
            TypeCode.Single => GgufValueType.Float32,
            TypeCode.Boolean => GgufValueType.Bool,
            TypeCode.String => GgufValueType.String,
            TypeCode.UInt64 => GgufValueType.UInt64,
            TypeCode.Int64 => GgufValueType.Int64,
            TypeCode.Double => GgufValueType.Float64,
            _ => throw new ArgumentException($"{array.GetType().Name} has no GGUF array type"),
        };
    }

    /// <param name="level">How deep an array here would be nested (1 for a top-level array).</param>
    private static void CheckValue(string key, object value, int level)
    {
        if (value is not Array array)
        {
            TypeOf(value);
            return;
        }
        if (level > GgufValueReader.MaxArrayDepth) throw new ArgumentException($"metadata '{key}' nests arrays too deeply");
        if (array.Rank != 1) throw new ArgumentException($"metadata '{key}': only one-dimensional arrays");
        if (ElementTypeOf(array) == GgufValueType.Array)
        {
            var nested = (object[])array;
            foreach (object inner in nested)
            {
                if (inner is not Array) throw new ArgumentException($"metadata '{key}': an array of arrays holds a {inner.GetType().Name}");
                CheckValue(key, inner, level + 1);
            }
        }
    }
}
