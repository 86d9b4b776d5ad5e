using System.Buffers.Binary;
using System.Text;

namespace SpecDec.Tests.Formats;

/// <summary>Writes .safetensors files by the spec (u64 header length, JSON header, data) for tests.</summary>
internal static class SafetensorsBytes
{
    /// <param name="tensors">Name, dtype, PyTorch-order shape, raw little-endian bytes.</param>
    public static byte[] Build(IEnumerable<(string Name, string Dtype, long[] Shape, byte[] Data)> tensors, string? metadataJson = null)
    {
        var header = new StringBuilder("{");
        if (metadataJson is not null) header.Append($"\"__metadata__\":{metadataJson},");
        var data = new MemoryStream();
        foreach ((string name, string dtype, long[] shape, byte[] bytes) in tensors)
        {
            long begin = data.Length;
            data.Write(bytes);
            header.Append($"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{data.Length}]}},");
        }
        if (header[^1] == ',') header.Length--;
        header.Append('}');
        return Assemble(header.ToString(), data.ToArray());
    }

    /// <summary>A file from a literal header (padded with spaces to 8 bytes, as the Rust writer does) and data.</summary>
    public static byte[] Assemble(string headerJson, byte[] data) => Assemble(Encoding.UTF8.GetBytes(headerJson), data);

    /// <summary>A file from a header's bytes, valid UTF-8 or not, padded as above.</summary>
    public static byte[] Assemble(byte[] header, byte[] data)
    {
        byte[] json = new byte[(header.Length + 7) / 8 * 8];
        json.AsSpan().Fill((byte)' ');
        header.CopyTo(json, 0);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }
}
