namespace SpecDec.Formats.Gguf;

/// <summary>
/// Typed reads of GGUF metadata (scalars, typed .NET arrays) that fail with a <see cref="ModelFormatException"/>
/// naming the file and the key. Integer keys accept any GGUF integer type (writers differ: llama.cpp writes
/// uint32, others int32 or uint64).
/// </summary>
internal readonly struct GgufMetadata(IReadOnlyDictionary<string, object> values, string source)
{
    public ModelFormatException Error(string key, string problem) => new(source, $"metadata key '{key}' {problem}");

    private object Required(string key) =>
        values.TryGetValue(key, out var v) ? v : throw Error(key, "is missing");

    public string String(string key) => Required(key) as string ?? throw Error(key, $"must be a string, not {TypeOf(Required(key))}");

    public string? OptionalString(string key) =>
        values.TryGetValue(key, out var v) ? v as string ?? throw Error(key, $"must be a string, not {TypeOf(v)}") : null;

    public bool? OptionalBool(string key) =>
        values.TryGetValue(key, out var v) ? v as bool? ?? throw Error(key, $"must be a bool, not {TypeOf(v)}") : null;

    /// <summary>An integer of any width; a uint64 beyond long's range reads as long.MaxValue, outside every range checked.</summary>
    public long? OptionalInteger(string key) => values.TryGetValue(key, out var v) ? v switch
    {
        sbyte or byte or short or ushort or int or uint or long => Convert.ToInt64(v),
        ulong u => u <= long.MaxValue ? (long)u : long.MaxValue,
        _ => throw Error(key, $"must be an integer, not {TypeOf(v)}"),
    } : null;

    /// <summary>A count or size: an integer in 1..int.MaxValue.</summary>
    public int PositiveInt(string key) => OptionalPositiveInt(key) ?? throw Error(key, "is missing");

    public int? OptionalPositiveInt(string key) => OptionalInteger(key) switch
    {
        null => null,
        > 0 and <= int.MaxValue and long v => (int)v,
        long v => throw Error(key, $"is {v}, out of range"),
    };

    public float Float(string key) => OptionalFloat(key) ?? throw Error(key, "is missing");

    public float? OptionalFloat(string key)
    {
        if (!values.TryGetValue(key, out var v)) return null;
        float value = v switch
        {
            float f => f,
            double d => (float)d,
            _ => throw Error(key, $"must be a float, not {TypeOf(v)}"),
        };
        return float.IsFinite(value) ? value : throw Error(key, $"is {value}, not finite");
    }

    public string[] StringArray(string key) =>
        Required(key) as string[] ?? throw Error(key, $"must be an array of strings, not {TypeOf(Required(key))}");

    public float[] FloatArray(string key) => Required(key) switch
    {
        float[] f => f,
        double[] d => [.. d.Select(x => (float)x)],
        var v => throw Error(key, $"must be an array of floats, not {TypeOf(v)}"),
    };

    public int[]? OptionalIntArray(string key) => !values.TryGetValue(key, out var v) ? null : v switch
    {
        int[] i => i,
        uint[] u => [.. u.Select(x => x > int.MaxValue ? -1 : (int)x)],
        long[] l => [.. l.Select(x => x is < int.MinValue or > int.MaxValue ? -1 : (int)x)],
        short[] s => [.. s.Select(x => (int)x)],
        ushort[] s => [.. s.Select(x => (int)x)],
        sbyte[] s => [.. s.Select(x => (int)x)],
        byte[] b => [.. b.Select(x => (int)x)],
        _ => throw Error(key, $"must be an array of integers, not {TypeOf(v)}"),
    };

    private static string TypeOf(object v) => v.GetType().Name;
}
