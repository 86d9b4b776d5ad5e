using System.Text.Json;
using System.Text.Unicode;

namespace SpecDec.Formats;

/// <summary>
/// Typed reads from a parsed json file (config.json, tokenizer.json and its siblings) that fail with a
/// <see cref="ModelFormatException"/> naming the file and the field path (e.g. "model.merges[12]"), so a bad
/// file is never a bare KeyNotFound or cast error.
/// </summary>
internal readonly struct JsonFields(string filePath)
{
    public string FilePath { get; } = filePath;

    /// <summary>Largest config-sized json file (config.json, a shard index) read: 16 MB.</summary>
    private const int MaxConfigBytes = 16 << 20;

    /// <summary>A config-sized json file (config.json, the shard index) as an object; a huge file is refused unread.</summary>
    public static JsonDocument ParseConfig(string path)
    {
        var info = new FileInfo(path);
        if (info.Exists && info.Length > MaxConfigBytes) throw new ModelFormatException(path, $"{info.Length} bytes is far too large for a JSON config");
        return Parse(path);
    }

    /// <summary>The file as a json object (every file we read is one).</summary>
    public static JsonDocument Parse(string filePath)
    {
        if (!File.Exists(filePath)) throw new FileNotFoundException($"{filePath}: no such file", filePath);
        byte[] bytes = File.ReadAllBytes(filePath);
        // JsonDocument accepts invalid UTF-8 inside strings and throws only when one is read.
        if (!Utf8.IsValid(bytes)) throw new ModelFormatException(filePath, "is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = true, MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(filePath, $"is not valid JSON ({e.Message})", e);
        }
        if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
        doc.Dispose();
        throw new ModelFormatException(filePath, "is not a JSON object");
    }

    public ModelFormatException Error(string field, string problem) => new(FilePath, $"field '{field}' {problem}");

    /// <summary>The property, or null when absent or json null.</summary>
    public JsonElement? Optional(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object) return null;
        return obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;
    }

    public JsonElement Required(JsonElement obj, string name, string field) =>
        Optional(obj, name) ?? throw Error(field, "is missing");

    public JsonElement Object(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Object ? value : throw Error(field, $"must be an object, not {Kind(value)}");

    public JsonElement Array(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Array ? value : throw Error(field, $"must be an array, not {Kind(value)}");

    public string String(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Error(field, $"must be a string, not {Kind(value)}");

    public int Int(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int i)
            ? i
            : throw Error(field, $"must be a 32-bit integer, not {Describe(value)}");

    /// <summary>A count or size: some exporters write integral floats (e.g. 2048.0).</summary>
    public int PositiveInt(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double x) && x == Math.Floor(x) && x is > 0 and <= int.MaxValue
            ? (int)x
            : throw Error(field, $"must be a positive integer, not {Describe(value)}");

    public double Number(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double x) && double.IsFinite(x)
            ? x
            : throw Error(field, $"must be a number, not {Describe(value)}");

    public bool Bool(JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error(field, $"must be true or false, not {Describe(value)}"),
    };

    public string? OptionalString(JsonElement obj, string name, string field) =>
        Optional(obj, name) is { } v ? String(v, field) : null;

    public bool OptionalBool(JsonElement obj, string name, string field, bool fallback) =>
        Optional(obj, name) is { } v ? Bool(v, field) : fallback;

    public int OptionalInt(JsonElement obj, string name, string field, int fallback) =>
        Optional(obj, name) is { } v ? Int(v, field) : fallback;

    public int? OptionalPositiveInt(JsonElement obj, string name, string field) =>
        Optional(obj, name) is { } v ? PositiveInt(v, field) : null;

    public double? OptionalNumber(JsonElement obj, string name, string field) =>
        Optional(obj, name) is { } v ? Number(v, field) : null;

    /// <summary>A nested object, or null when absent or json null.</summary>
    public JsonElement? OptionalObject(JsonElement obj, string name, string field) =>
        Optional(obj, name) is { } v ? Object(v, field) : null;

    /// <summary>A token given either as a plain string or as an AddedToken object {"content": ...}.</summary>
    public string? OptionalTokenContent(JsonElement obj, string name, string field)
    {
        if (Optional(obj, name) is not { } v) return null;
        return v.ValueKind == JsonValueKind.Object ? String(Required(v, "content", field + ".content"), field + ".content")
                                                   : String(v, field);
    }

    /// <summary>An int or a list of ints (generation_config eos_token_id), as a list.</summary>
    public int[] IntOrIntList(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.Array) return [Int(value, field)];
        var ids = new int[value.GetArrayLength()];
        int i = 0;
        foreach (var item in value.EnumerateArray()) { ids[i] = Int(item, $"{field}[{i}]"); i++; }
        return ids;
    }

    private static string Kind(JsonElement v) => v.ValueKind.ToString().ToLowerInvariant();

    private static string Describe(JsonElement v)
    {
        string raw = v.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }
}
