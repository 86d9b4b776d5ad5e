using System.Text.Json;
using SpecDec.Tensors;

namespace SpecDec.Formats.Safetensors;

/// <summary>One validated tensor entry of a safetensors header.</summary>
internal sealed record SafetensorsEntry(string Name, GgmlType Type, long[] GgufDims, long Begin, long ByteLength)
{
    private const int MaxRank = 4;

    /// <param name="dataLength">Bytes after the header, which data_offsets index.</param>
    public static SafetensorsEntry Parse(string name, JsonElement value, long dataLength, string path)
    {
        if (value.ValueKind != JsonValueKind.Object) throw Bad(path, name, "is not a JSON object");
        string dtype = value.TryGetProperty("dtype", out JsonElement d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()! : throw Bad(path, name, "has no dtype string");
        (GgmlType type, int elementBytes) = dtype switch
        {
            "F32" => (GgmlType.F32, 4),
            "F16" => (GgmlType.F16, 2),
            "BF16" => (GgmlType.BF16, 2),
            _ => throw Bad(path, name, $"has dtype {dtype}; supported are F32, F16 and BF16"),
        };

        if (!value.TryGetProperty("shape", out JsonElement shape) || shape.ValueKind != JsonValueKind.Array)
            throw Bad(path, name, "has no shape array");
        int rank = shape.GetArrayLength();
        if (rank is 0 or > MaxRank) throw Bad(path, name, $"has rank {rank} (1 to {MaxRank} supported)");
        var dims = new long[rank];
        long elements = 1;
        int i = rank;
        foreach (JsonElement dim in shape.EnumerateArray())
        {
            // Reject anything that could overflow before multiplying: no tensor has more elements than its file has bytes.
            if (!Whole(dim, out long n) || n <= 0 || n > dataLength || elements > dataLength / n)
                throw Bad(path, name, $"has an impossible shape {shape.GetRawText()} for {dataLength} data bytes");
            dims[--i] = n; // safetensors lists the outermost dimension first; GGUF order is the reverse
            elements *= n;
        }

        if (!value.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array
            || offsets.GetArrayLength() != 2 || !Whole(offsets[0], out long begin) || !Whole(offsets[1], out long end))
            throw Bad(path, name, "has no [begin, end] data_offsets");
        if (begin < 0 || begin > end || end > dataLength)
            throw Bad(path, name, $"data_offsets [{begin}, {end}] lie outside the {dataLength} data bytes");
        if (end - begin != elements * elementBytes)
            throw Bad(path, name, $"has {end - begin} bytes, but shape {shape.GetRawText()} of {dtype} needs {elements * elementBytes}");
        return new SafetensorsEntry(name, type, dims, begin, end - begin);
    }

    /// <summary>TryGetInt64 throws on anything but a number (true, "1", null); a header may hold any of them.</summary>
    private static bool Whole(JsonElement value, out long n)
    {
        n = 0;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out n);
    }

    private static ModelFormatException Bad(string path, string name, string problem) => new(path, $"tensor {name} {problem}");
}
