using System.Globalization;

namespace SpecDec.ServeBench;

/// <summary>--name value pairs; a name given that no command reads is an error, so a typo cannot pass silently.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = [];
    private readonly HashSet<string> _read = [];

    public static Arguments Parse(IEnumerable<string> args)
    {
        var parsed = new Arguments();
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            string name = e.Current;
            if (!name.StartsWith("--", StringComparison.Ordinal) || !e.MoveNext()) throw new ArgumentException($"expected --name value, got '{name}'");
            parsed._values[name[2..]] = e.Current;
        }
        return parsed;
    }

    public string String(string name, string? fallback = null)
    {
        _read.Add(name);
        return _values.GetValueOrDefault(name) ?? fallback ?? throw new ArgumentException($"--{name} is required");
    }

    public int Int(string name, int fallback) =>
        _values.ContainsKey(name) ? int.Parse(String(name), CultureInfo.InvariantCulture) : Read(name, fallback);

    private int Read(string name, int fallback)
    {
        _read.Add(name);
        return fallback;
    }

    /// <summary>Throws when an option was given that the command did not read.</summary>
    public void CheckAllRead()
    {
        var unknown = _values.Keys.Except(_read).ToArray();
        if (unknown.Length > 0) throw new ArgumentException($"unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}
