using System.Text;

namespace SpecDec.Tests.Formats;

/// <summary>
/// Little-endian byte builder for hand-written GGUF files that follow the spec field by field, so reader
/// tests do not depend on our own writer.
/// </summary>
internal sealed class SpecBytes
{
    private readonly MemoryStream _stream = new();
    private readonly BinaryWriter _w;

    public SpecBytes() => _w = new BinaryWriter(_stream, Encoding.UTF8, leaveOpen: true);

    public long Length => _stream.Length;

    public SpecBytes Raw(ReadOnlySpan<byte> bytes) { _w.Write(bytes); return this; }
    public SpecBytes U8(byte v) { _w.Write(v); return this; }
    public SpecBytes I8(sbyte v) { _w.Write(v); return this; }
    public SpecBytes U16(ushort v) { _w.Write(v); return this; }
    public SpecBytes I16(short v) { _w.Write(v); return this; }
    public SpecBytes U32(uint v) { _w.Write(v); return this; }
    public SpecBytes I32(int v) { _w.Write(v); return this; }
    public SpecBytes U64(ulong v) { _w.Write(v); return this; }
    public SpecBytes I64(long v) { _w.Write(v); return this; }
    public SpecBytes F32(float v) { _w.Write(v); return this; }
    public SpecBytes F64(double v) { _w.Write(v); return this; }

    /// <summary>gguf_string: uint64 length + UTF-8 bytes, no terminator.</summary>
    public SpecBytes Str(string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        U64((ulong)bytes.Length);
        _w.Write(bytes);
        return this;
    }

    /// <summary>magic "GGUF", version, tensor count, metadata count.</summary>
    public SpecBytes Header(uint version, ulong tensors, ulong kvs) =>
        Raw("GGUF"u8).U32(version).U64(tensors).U64(kvs);

    /// <summary>Key and value type id (gguf_type); the caller writes the value.</summary>
    public SpecBytes Key(string key, uint type) => Str(key).U32(type);

    /// <summary>Tensor info: name, n_dims, dims, ggml type id, offset.</summary>
    public SpecBytes Tensor(string name, ulong[] dims, uint type, ulong offset)
    {
        Str(name).U32((uint)dims.Length);
        foreach (ulong d in dims) U64(d);
        return U32(type).U64(offset);
    }

    public SpecBytes PadTo(int alignment)
    {
        while (_stream.Length % alignment != 0) _w.Write((byte)0);
        return this;
    }

    public byte[] ToArray()
    {
        _w.Flush();
        return _stream.ToArray();
    }
}
