using System.Collections;
using System.Globalization;
using System.Text;

namespace SpecDec.Templates;

/// <summary>
/// The globals, filters, tests and methods chat templates use, with Jinja's and Python's behaviour, plus
/// Hugging Face's additions: <c>raise_exception</c>, <c>strftime_now</c> and a <c>tojson</c> that keeps non-ASCII
/// text (json.dumps with ensure_ascii=False). Anything else is refused with its name.
/// </summary>
internal static class TemplateBuiltins
{
    public static object? Global(string name, RenderContext context) => name switch
    {
        "range" => new Callable("range", (args, _) => Range(args)),
        "namespace" => new Callable("namespace", (args, kwargs) =>
        {
            var ns = new Namespace();
            if (args.Count > 0 && args[0] is IDictionary<string, object?> init) foreach (var e in init) ns[e.Key] = e.Value;
            foreach (var e in kwargs) ns[e.Key] = e.Value;
            return ns;
        }),
        "dict" => new Callable("dict", (_, kwargs) => new Dictionary<string, object?>(kwargs)),
        "raise_exception" => new Callable("raise_exception", (args, _) =>
            throw new TemplateException(args.Count > 0 ? TemplateValues.ToText(args[0]) : "the template raised an exception")),
        "strftime_now" => new Callable("strftime_now", (args, _) => Strftime(context.Now(), args.Count > 0 ? TemplateValues.ToText(args[0]) : "")),
        _ => null,
    };

    private static List<object?> Range(List<object?> args)
    {
        long[] n = args.Select(a => a is long l ? l : throw new TemplateException("range() takes integers")).ToArray();
        (long start, long stop, long step) = n.Length switch
        {
            1 => (0L, n[0], 1L),
            2 => (n[0], n[1], 1L),
            3 => (n[0], n[1], n[2]),
            _ => throw new TemplateException("range() takes 1 to 3 integers"),
        };
        if (step == 0) throw new TemplateException("range() step must not be zero");
        var list = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) list.Add(i);
        return list;
    }

    /// <summary>Python's strftime for the directives templates use.</summary>
    internal static string Strftime(DateTimeOffset t, string format)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length) { sb.Append(format[i]); continue; }
            char d = format[++i];
            sb.Append(d switch
            {
                'Y' => t.Year.ToString("0000", c),
                'y' => (t.Year % 100).ToString("00", c),
                'm' => t.Month.ToString("00", c),
                'd' => t.Day.ToString("00", c),
                '-' when i + 1 < format.Length && format[i + 1] == 'd' => (++i > 0 ? t.Day : 0).ToString(c),
                'e' => t.Day.ToString(c).PadLeft(2),
                'B' => t.ToString("MMMM", c),
                'b' or 'h' => t.ToString("MMM", c),
                'A' => t.ToString("dddd", c),
                'a' => t.ToString("ddd", c),
                'H' => t.Hour.ToString("00", c),
                'I' => ((t.Hour + 11) % 12 + 1).ToString("00", c),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'M' => t.Minute.ToString("00", c),
                'S' => t.Second.ToString("00", c),
                'j' => t.DayOfYear.ToString("000", c),
                '%' => "%",
                _ => throw new TemplateException($"strftime_now: the directive %{d} is not supported"),
            });
        }
        return sb.ToString();
    }

    /// <summary>A method of a string or dict, bound to it; null when it has none of that name.</summary>
    public static Callable? Method(object? value, string name, int line)
    {
        switch (value)
        {
            case string s:
                Func<List<object?>, Dictionary<string, object?>, object?>? f = name switch
                {
                    "strip" => (a, _) => Strip(s, a, true, true),
                    "lstrip" => (a, _) => Strip(s, a, true, false),
                    "rstrip" => (a, _) => Strip(s, a, false, true),
                    "upper" => (_, _) => s.ToUpperInvariant(),
                    "lower" => (_, _) => s.ToLowerInvariant(),
                    "title" => (_, _) => Title(s),
                    "capitalize" => (_, _) => Capitalize(s),
                    "startswith" => (a, _) => Affix(a, line).Any(p => s.StartsWith(p, StringComparison.Ordinal)),
                    "endswith" => (a, _) => Affix(a, line).Any(p => s.EndsWith(p, StringComparison.Ordinal)),
                    "split" => (a, _) => Split(s, a),
                    "replace" => (a, _) => Replace(s, Str(a, 0, line), Str(a, 1, line), a.Count > 2 ? (long)a[2]! : -1),
                    "find" => (a, _) => (long)s.IndexOf(Str(a, 0, line), StringComparison.Ordinal),
                    "count" => (a, _) => (long)CountOf(s, Str(a, 0, line)),
                    "join" => (a, _) => string.Join(s, TemplateValues.Iterate(a.FirstOrDefault(), line).Select(TemplateValues.ToText)),
                    "isdigit" => (_, _) => s.Length > 0 && s.All(char.IsDigit),
                    "isspace" => (_, _) => s.Length > 0 && s.All(char.IsWhiteSpace),
                    _ => null,
                };
                return f is null ? null : new Callable(name, f);
            case IDictionary<string, object?> dict when value is not Namespace:
                return name switch
                {
                    "items" => new Callable(name, (_, _) => Items(dict)),
                    "keys" => new Callable(name, (_, _) => dict.Keys.Cast<object?>().ToList()),
                    "values" => new Callable(name, (_, _) => dict.Values.ToList()),
                    "get" => new Callable(name, (a, _) => a.Count > 0 && a[0] is string k && dict.TryGetValue(k, out var v) ? v : a.Count > 1 ? a[1] : null),
                    _ => null,
                };
            default:
                return null;
        }
    }

    private static string Str(List<object?> args, int i, int line) =>
        i < args.Count && args[i] is string s ? s : throw new TemplateException($"line {line}: argument {i + 1} must be a string");

    private static IEnumerable<string> Affix(List<object?> args, int line) => args.FirstOrDefault() switch
    {
        string s => [s],
        IList l => l.Cast<object?>().Select(x => x as string ?? throw new TemplateException($"line {line}: startswith/endswith take strings")),
        _ => throw new TemplateException($"line {line}: startswith/endswith take a string or a tuple of strings"),
    };

    private static string Strip(string s, List<object?> args, bool left, bool right)
    {
        if (args.Count > 0 && args[0] is string chars)
            return left && right ? s.Trim(chars.ToCharArray()) : left ? s.TrimStart(chars.ToCharArray()) : s.TrimEnd(chars.ToCharArray());
        return left && right ? s.Trim() : left ? s.TrimStart() : s.TrimEnd();
    }

    private static List<object?> Split(string s, List<object?> args)
    {
        long max = args.Count > 1 && args[1] is long m ? m : -1;
        if (args.Count == 0 || args[0] is null)
        {
            var words = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (max < 0 || words.Length <= max) return words.Cast<object?>().ToList();
            var trimmed = s.TrimStart();
            var parts = trimmed.Split((char[]?)null, (int)max + 1, StringSplitOptions.RemoveEmptyEntries).ToList();
            return parts.Cast<object?>().ToList();
        }
        string sep = (string)args[0]!;
        if (sep.Length == 0) throw new TemplateException("split(): empty separator");
        return (max < 0 ? s.Split(sep) : s.Split(sep, (int)max + 1)).Cast<object?>().ToList();
    }

    private static string Replace(string s, string old, string @new, long count)
    {
        if (count < 0) return old.Length == 0 ? s : s.Replace(old, @new, StringComparison.Ordinal);
        var sb = new StringBuilder();
        int at = 0;
        for (long n = 0; n < count; n++)
        {
            int i = s.IndexOf(old, at, StringComparison.Ordinal);
            if (i < 0 || old.Length == 0) break;
            sb.Append(s, at, i - at).Append(@new);
            at = i + old.Length;
        }
        return sb.Append(s, at, s.Length - at).ToString();
    }

    private static int CountOf(string s, string part)
    {
        if (part.Length == 0) return s.Length + 1;
        int n = 0;
        for (int i = s.IndexOf(part, StringComparison.Ordinal); i >= 0; i = s.IndexOf(part, i + part.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool start = true;
        foreach (char c in s)
        {
            sb.Append(start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            start = !char.IsLetter(c);
        }
        return sb.ToString();
    }

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    private static List<object?> Items(IDictionary<string, object?> dict) =>
        dict.Select(e => (object?)new List<object?> { e.Key, e.Value }).ToList();

    public static object? Filter(string name, object? value, List<object?> args, Dictionary<string, object?> kwargs, RenderContext context, int line)
    {
        object? Arg(int i, string key, object? fallback = null) => i < args.Count ? args[i] : kwargs.TryGetValue(key, out var v) ? v : fallback;
        switch (name)
        {
            case "length" or "count":
                return value switch
                {
                    string s => (long)s.Length,
                    ICollection c => (long)c.Count,
                    Undefined => 0L,
                    _ => throw new TemplateException($"line {line}: {TemplateValues.TypeName(value)} has no length"),
                };
            case "string": return TemplateValues.ToText(value);
            case "trim": return Strip(TemplateValues.ToText(value), args, true, true);
            case "upper": return TemplateValues.ToText(value).ToUpperInvariant();
            case "lower": return TemplateValues.ToText(value).ToLowerInvariant();
            case "title": return Title(TemplateValues.ToText(value));
            case "capitalize": return Capitalize(TemplateValues.ToText(value));
            case "safe": return value;
            case "default" or "d":
                bool boolean = TemplateValues.IsTrue(Arg(1, "boolean", false));
                return value is Undefined || boolean && !TemplateValues.IsTrue(value) ? Arg(0, "default_value", "") : value;
            case "tojson":
                return TemplateJson.Write(value, Arg(0, "indent") is long indent ? (int)indent : null, TemplateValues.IsTrue(Arg(1, "sort_keys", false)), line);
            case "join":
            {
                string sep = Arg(0, "d", "") as string ?? "";
                var items = TemplateValues.Iterate(value, line);
                if (Arg(1, "attribute") is string attr) items = items.Select(i => TemplateValues.Attribute(i, attr, line));
                return string.Join(sep, items.Select(TemplateValues.ToText));
            }
            case "list": return TemplateValues.Iterate(value, line).ToList();
            case "first": return TemplateValues.Iterate(value, line).FirstOrDefault(new Undefined("first"));
            case "last": return value is IList { Count: > 0 } l ? l[^1] : value is string { Length: > 0 } s2 ? s2[^1].ToString() : new Undefined("last");
            case "reverse": return value is string rs ? new string(rs.Reverse().ToArray()) : TemplateValues.Iterate(value, line).Reverse().ToList();
            case "unique": return Unique(TemplateValues.Iterate(value, line));
            case "items": return value is IDictionary<string, object?> d ? Items(d) : value is Undefined ? new List<object?>() : throw new TemplateException($"line {line}: items needs a dict");
            case "dictsort":
                return value is IDictionary<string, object?> ds
                    ? Items(ds).OrderBy(e => (string)((List<object?>)e!)[0]!, StringComparer.OrdinalIgnoreCase).ToList()
                    : throw new TemplateException($"line {line}: dictsort needs a dict");
            case "replace": return Replace(TemplateValues.ToText(value), (string)Arg(0, "old")!, (string)Arg(1, "new")!, Arg(2, "count") is long n ? n : -1);
            case "int": return ToInt(value);
            case "float": return value switch { long i => (double)i, double f => f, string s when double.TryParse(s, CultureInfo.InvariantCulture, out double p) => p, _ => 0.0 };
            case "abs": return value switch { long i => (object)Math.Abs(i), double f => Math.Abs(f), _ => throw new TemplateException($"line {line}: abs needs a number") };
            case "round": return Math.Round(value is long ri ? ri : (double)value!, Arg(0, "precision") is long p2 ? (int)p2 : 0, MidpointRounding.ToEven);
            case "indent":
            {
                string pad = Arg(0, "width", 4L) is long w ? new string(' ', (int)w) : (string)Arg(0, "width")!;
                bool first = TemplateValues.IsTrue(Arg(1, "first", false));
                var lines = TemplateValues.ToText(value).Split('\n');
                for (int i = first ? 0 : 1; i < lines.Length; i++) if (lines[i].Length > 0) lines[i] = pad + lines[i];
                return string.Join("\n", lines);
            }
            case "map":
            {
                var items = TemplateValues.Iterate(value, line);
                if (kwargs.TryGetValue("attribute", out var attr))
                    return items.Select(i => TemplateValues.Index(i, attr, line) is Undefined && kwargs.TryGetValue("default", out var dv) ? dv : TemplateValues.Index(i, attr, line)).ToList();
                if (args.Count > 0 && args[0] is string filter)
                    return items.Select(i => Filter(filter, i, args.Skip(1).ToList(), [], context, line)).ToList();
                throw new TemplateException($"line {line}: map needs a filter name or attribute=");
            }
            case "select" or "reject":
            {
                bool keep = name == "select";
                return TemplateValues.Iterate(value, line).Where(i =>
                    (args.Count == 0 ? TemplateValues.IsTrue(i) : TemplateValues.IsTrue(Test((string)args[0]!, i, args.Skip(1).ToList(), line))) == keep).ToList();
            }
            case "selectattr" or "rejectattr":
            {
                bool keep = name == "selectattr";
                string attr = args.Count > 0 && args[0] is string a ? a : throw new TemplateException($"line {line}: {name} needs an attribute name");
                return TemplateValues.Iterate(value, line).Where(i =>
                {
                    object? v = TemplateValues.Index(i, attr, line);
                    bool ok = args.Count < 2 ? TemplateValues.IsTrue(v) : TemplateValues.IsTrue(Test((string)args[1]!, v, args.Skip(2).ToList(), line));
                    return ok == keep;
                }).ToList();
            }
            case "sort":
            {
                var items = TemplateValues.Iterate(value, line).ToList();
                string? attr = Arg(2, "attribute") as string;
                object? Key(object? i) => attr is null ? i : TemplateValues.Index(i, attr, line);
                items.Sort((x, y) => TemplateValues.Compare(Key(x), Key(y), line));
                if (TemplateValues.IsTrue(Arg(0, "reverse", false))) items.Reverse();
                return items;
            }
            case "min" or "max":
            {
                var items = TemplateValues.Iterate(value, line).ToList();
                if (items.Count == 0) return new Undefined(name);
                return items.Aggregate((x, y) => (TemplateValues.Compare(x, y, line) <= 0) == (name == "min") ? x : y);
            }
            case "sum": return TemplateValues.Iterate(value, line).Aggregate((object?)0L, (s, x) => TemplateValues.Binary("+", s, x, line));
            case "wordcount": return (long)TemplateValues.ToText(value).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
            default:
                throw new TemplateException($"line {line}: the filter '{name}' is not supported");
        }
    }

    private static long ToInt(object? value) => value switch
    {
        long l => l,
        double d => (long)Math.Truncate(d),
        bool b => b ? 1 : 0,
        string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long l) => l,
        string s when double.TryParse(s.Trim(), CultureInfo.InvariantCulture, out double d) => (long)d,
        _ => 0,
    };

    private static List<object?> Unique(IEnumerable<object?> items)
    {
        var seen = new List<object?>();
        foreach (var i in items) if (!seen.Any(s => TemplateValues.Equal(s, i))) seen.Add(i);
        return seen;
    }

    public static bool Test(string name, object? value, List<object?> args, int line)
    {
        object? Arg0() => args.Count > 0 ? args[0] : throw new TemplateException($"line {line}: the test '{name}' needs an argument");
        return name switch
        {
            "defined" => value is not Undefined,
            "undefined" => value is Undefined,
            "none" => value is null,
            "string" => value is string,
            "number" => value is long or double,
            "integer" => value is long,
            "float" => value is double,
            "boolean" => value is bool,
            "true" => value is true,
            "false" => value is false,
            "mapping" => value is IDictionary,
            "iterable" => value is string or IList or IDictionary,
            "sequence" => value is string or IList or IDictionary,
            "callable" => value is Callable,
            "even" => value is long e && e % 2 == 0,
            "odd" => value is long o && o % 2 != 0,
            "divisibleby" => value is long dv && Arg0() is long by && by != 0 && dv % by == 0,
            "eq" or "equalto" or "==" => TemplateValues.Equal(value, Arg0()),
            "ne" or "!=" => !TemplateValues.Equal(value, Arg0()),
            "lt" or "lessthan" or "<" => TemplateValues.Compare(value, Arg0(), line) < 0,
            "le" or "<=" => TemplateValues.Compare(value, Arg0(), line) <= 0,
            "gt" or "greaterthan" or ">" => TemplateValues.Compare(value, Arg0(), line) > 0,
            "ge" or ">=" => TemplateValues.Compare(value, Arg0(), line) >= 0,
            "in" => TemplateValues.Contains(Arg0(), value, line),
            "sameas" => ReferenceEquals(value, Arg0()) || value is null && Arg0() is null || value is bool b && Arg0() is bool c && b == c,
            "lower" => value is string ls && ls == ls.ToLowerInvariant(),
            "upper" => value is string us && us == us.ToUpperInvariant(),
            _ => throw new TemplateException($"line {line}: the test '{name}' is not supported"),
        };
    }
}
