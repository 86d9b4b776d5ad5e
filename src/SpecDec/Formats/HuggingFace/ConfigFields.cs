using System.Text.Json;

namespace SpecDec.Formats.HuggingFace;

/// <summary>Typed reads of JSON object fields with errors naming the file and the field.</summary>
internal readonly struct ConfigFields(JsonElement obj, string path, string prefix = "")
{
    public JsonElement Element => obj;

    public bool Has(string name) => obj.TryGetProperty(name, out JsonElement v) && v.ValueKind != JsonValueKind.Null;

    public int RequireInt(string name) => OptionalInt(name) ?? throw Missing(name);

    public int? OptionalInt(string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null) return null;
        // Some exporters write integral floats (e.g. 2048.0).
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double x) && x == Math.Floor(x) && x is > 0 and <= int.MaxValue)
            return (int)x;
        throw new ModelFormatException(path, $"{prefix}{name} should be a positive integer, found {v.GetRawText()}");
    }

    public double? OptionalNumber(string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double x) && double.IsFinite(x)) return x;
        throw new ModelFormatException(path, $"{prefix}{name} should be a number, found {v.GetRawText()}");
    }

    public double RequireNumber(string name) => OptionalNumber(name) ?? throw Missing(name);

    public bool? OptionalBool(string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ModelFormatException(path, $"{prefix}{name} should be true or false, found {v.GetRawText()}"),
        };
    }

    public string? OptionalString(string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : throw new ModelFormatException(path, $"{prefix}{name} should be a string, found {v.GetRawText()}");
    }

    /// <summary>A nested object, or null when absent or null.</summary>
    public ConfigFields? OptionalObject(string name)
    {
        if (!obj.TryGetProperty(name, out JsonElement v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Object
            ? new ConfigFields(v, path, $"{prefix}{name}.")
            : throw new ModelFormatException(path, $"{prefix}{name} should be an object, found {v.GetRawText()}");
    }

    private ModelFormatException Missing(string name) => new(path, $"missing {prefix}{name}");
}
