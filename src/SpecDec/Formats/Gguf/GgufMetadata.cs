namespace SpecDec.Formats.Gguf;

/// <summary>
/// Typed reads of GGUF metadata with errors that name the file and key. Integer keys accept any GGUF
/// integer type (writers differ: llama.cpp writes uint32, others int32 or uint64).
/// </summary>
internal static class GgufMetadata
{
    public static string RequireString(IReadOnlyDictionary<string, object> m, string key, string path) =>
        m.TryGetValue(key, out object? v)
            ? v as string ?? throw WrongType(path, key, v, "a string")
            : throw Missing(path, key);

    public static int RequirePositiveInt(IReadOnlyDictionary<string, object> m, string key, string path) =>
        OptionalPositiveInt(m, key, path) ?? throw Missing(path, key);

    public static int? OptionalPositiveInt(IReadOnlyDictionary<string, object> m, string key, string path)
    {
        if (!m.TryGetValue(key, out object? v)) return null;
        long? value = v switch
        {
            byte x => x, sbyte x => x, ushort x => x, short x => x, uint x => x, int x => x, long x => x,
            ulong x => x <= long.MaxValue ? (long)x : long.MaxValue,
            _ => null,
        };
        if (value is null) throw WrongType(path, key, v, "an integer");
        if (value is <= 0 or > int.MaxValue) throw new ModelFormatException(path, $"{key} = {value} is out of range");
        return (int)value;
    }

    public static float? OptionalFloat(IReadOnlyDictionary<string, object> m, string key, string path)
    {
        if (!m.TryGetValue(key, out object? v)) return null;
        float value = v switch
        {
            float x => x,
            double x => (float)x,
            _ => throw WrongType(path, key, v, "a float"),
        };
        if (!float.IsFinite(value)) throw new ModelFormatException(path, $"{key} = {value} is not finite");
        return value;
    }

    private static ModelFormatException Missing(string path, string key) => new(path, $"missing metadata key {key}");

    private static ModelFormatException WrongType(string path, string key, object value, string expected) =>
        new(path, $"metadata {key} should be {expected}, found {value.GetType().Name}");
}
