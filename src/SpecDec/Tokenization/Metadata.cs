namespace SpecDec.Tokenization;

/// <summary>
/// Typed reads of GGUF metadata values (typed .NET arrays and scalars of any integer width) that fail with a
/// <see cref="ModelFormatException"/> naming the file and the key.
/// </summary>
internal readonly struct Metadata(IReadOnlyDictionary<string, object> values, string source)
{
    public ModelFormatException Error(string key, string problem) => new(source, $"metadata key '{key}' {problem}");

    private object Required(string key) =>
        values.TryGetValue(key, out var v) ? v : throw Error(key, "is missing");

    public string String(string key) => Required(key) as string ?? throw Error(key, $"must be a string, not {TypeOf(Required(key))}");

    public string? OptionalString(string key) =>
        values.TryGetValue(key, out var v) ? v as string ?? throw Error(key, $"must be a string, not {TypeOf(v)}") : null;

    public bool? OptionalBool(string key) =>
        values.TryGetValue(key, out var v) ? v as bool? ?? throw Error(key, $"must be a bool, not {TypeOf(v)}") : null;

    public long? OptionalInteger(string key) => values.TryGetValue(key, out var v) ? v switch
    {
        sbyte or byte or short or ushort or int or uint or long => Convert.ToInt64(v),
        ulong u when u <= long.MaxValue => (long)u,
        _ => throw Error(key, $"must be an integer, not {TypeOf(v)}"),
    } : null;

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
