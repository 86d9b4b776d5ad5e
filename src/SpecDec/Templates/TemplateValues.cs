using System.Collections;
using System.Globalization;
using System.Text;

namespace SpecDec.Templates;

/// <summary>A name or attribute that does not exist: empty when printed, false when tested, an error when used further.</summary>
internal sealed class Undefined(string name)
{
    public string Name => name;
}

/// <summary>The object <c>namespace()</c> makes: attributes a loop body can set and the code after the loop reads.</summary>
internal sealed class Namespace : Dictionary<string, object?>;

/// <summary>A function a template can call: a global, a macro, or a method bound to its value.</summary>
internal sealed class Callable(string name, Func<List<object?>, Dictionary<string, object?>, object?> invoke)
{
    public string Name => name;
    public object? Invoke(List<object?> args, Dictionary<string, object?> kwargs) => invoke(args, kwargs);
}

/// <summary>
/// Python's semantics for the values a template sees: none, bool, int (long), float (double), str, list
/// (List&lt;object?&gt;) and dict (Dictionary&lt;string, object?&gt;, insertion-ordered): truth, printing
/// (<c>str()</c>, with <c>repr()</c> inside containers), equality, ordering and the operators.
/// </summary>
internal static class TemplateValues
{
    public static bool IsTrue(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        ICollection c => c.Count > 0,
        _ => true,
    };

    public static string TypeName(object? value) => value switch
    {
        null => "none",
        Undefined u => $"undefined ('{u.Name}')",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        Namespace => "namespace",
        IDictionary => "dict",
        IList => "list",
        Callable c => $"function {c.Name}",
        _ => value.GetType().Name,
    };

    /// <summary>Python's str(): what <c>{{ value }}</c> prints.</summary>
    public static string ToText(object? value) => value switch
    {
        Undefined => "",
        string s => s,
        _ => Repr(value),
    };

    /// <summary>Python's repr(), as str() of a container shows its items.</summary>
    public static string Repr(object? value)
    {
        switch (value)
        {
            case null: return "None";
            case Undefined: return "";
            case bool b: return b ? "True" : "False";
            case long l: return l.ToString(CultureInfo.InvariantCulture);
            case double d: return FloatRepr(d);
            case string s:
                char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
                var sb = new StringBuilder().Append(quote);
                foreach (char c in s)
                {
                    if (c == quote || c == '\\') sb.Append('\\').Append(c);
                    else if (c == '\n') sb.Append("\\n");
                    else if (c == '\r') sb.Append("\\r");
                    else if (c == '\t') sb.Append("\\t");
                    else if (c < 0x20 || c == 0x7f) sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                    else sb.Append(c);
                }
                return sb.Append(quote).ToString();
            case IDictionary<string, object?> dict:
                return "{" + string.Join(", ", dict.Select(e => Repr(e.Key) + ": " + Repr(e.Value))) + "}";
            case IList list:
                return "[" + string.Join(", ", list.Cast<object?>().Select(Repr)) + "]";
            case Callable c: return $"<function {c.Name}>";
            default: return value.ToString() ?? "";
        }
    }

    /// <summary>Python's float repr: the shortest round-trip digits, always with a '.' or an exponent.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        double abs = Math.Abs(d);
        if (abs != 0 && (abs < 1e-4 || abs >= 1e16))
        {
            string r = d.ToString("R", CultureInfo.InvariantCulture); // e.g. 1E-05
            int at = r.IndexOf('E');
            if (at < 0) return r;
            string mantissa = r[..at];
            int exponent = int.Parse(r[(at + 1)..], CultureInfo.InvariantCulture);
            return $"{mantissa}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }
        string s = d.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.') || s.Contains('E') ? s : s + ".0";
    }

    public static IEnumerable<object?> Iterate(object? value, int line) => value switch
    {
        Undefined => [],
        string s => s.Select(c => (object?)c.ToString()),
        IDictionary<string, object?> dict => dict.Keys,
        IList list => list.Cast<object?>(),
        _ => throw new TemplateException($"line {line}: {TypeName(value)} is not iterable"),
    };

    public static bool Equal(object? a, object? b)
    {
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b);
        return (a, b) switch
        {
            (null, null) => true,
            (string x, string y) => x == y,
            (IDictionary<string, object?> x, IDictionary<string, object?> y) =>
                x.Count == y.Count && x.All(e => y.TryGetValue(e.Key, out var v) && Equal(e.Value, v)),
            (IList x, IList y) => x.Count == y.Count && Enumerable.Range(0, x.Count).All(i => Equal(x[i], y[i])),
            _ => ReferenceEquals(a, b),
        };
    }

    private static bool IsNumber(object? v) => v is long or double or bool;

    private static double ToDouble(object? v) => v switch { long l => l, double d => d, bool b => b ? 1 : 0, _ => double.NaN };

    public static int Compare(object? a, object? b, int line)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a).CompareTo(ToDouble(b));
        if (a is string x && b is string y) return string.CompareOrdinal(x, y);
        if (a is IList p && b is IList q)
        {
            for (int i = 0; i < Math.Min(p.Count, q.Count); i++)
            {
                int c = Compare(p[i], q[i], line);
                if (c != 0) return c;
            }
            return p.Count.CompareTo(q.Count);
        }
        throw new TemplateException($"line {line}: cannot compare {TypeName(a)} with {TypeName(b)}");
    }

    public static object? Binary(string op, object? a, object? b, int line)
    {
        switch (op)
        {
            case "==": return Equal(a, b);
            case "!=": return !Equal(a, b);
            case "<": return Compare(a, b, line) < 0;
            case "<=": return Compare(a, b, line) <= 0;
            case ">": return Compare(a, b, line) > 0;
            case ">=": return Compare(a, b, line) >= 0;
            case "~": return ToText(a) + ToText(b);
            case "in": return Contains(b, a, line);
        }
        if (op == "+" && a is string s && b is string t) return s + t;
        if (op == "+" && a is IList l && b is IList m) return l.Cast<object?>().Concat(m.Cast<object?>()).ToList();
        if (op == "*" && a is string r && b is long n) return string.Concat(Enumerable.Repeat(r, (int)Math.Max(0, n)));
        if (op == "*" && a is IList rl && b is long rn) return Enumerable.Repeat(rl.Cast<object?>(), (int)Math.Max(0, rn)).SelectMany(x => x).ToList();
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is not double && b is not double)
            {
                long x = (long)ToDouble(a), y = (long)ToDouble(b);
                switch (op)
                {
                    case "+": return x + y;
                    case "-": return x - y;
                    case "*": return x * y;
                    case "//": return y == 0 ? throw DivideByZero(line) : (long)Math.Floor((double)x / y);
                    case "%": return y == 0 ? throw DivideByZero(line) : ((x % y) + y) % y;
                    case "**" when y >= 0: return (long)Math.Pow(x, y);
                }
            }
            double p = ToDouble(a), q = ToDouble(b);
            switch (op)
            {
                case "+": return p + q;
                case "-": return p - q;
                case "*": return p * q;
                case "/": return q == 0 ? throw DivideByZero(line) : p / q;
                case "//": return q == 0 ? throw DivideByZero(line) : Math.Floor(p / q);
                case "%": return q == 0 ? throw DivideByZero(line) : p - q * Math.Floor(p / q);
                case "**": return Math.Pow(p, q);
            }
        }
        throw new TemplateException($"line {line}: unsupported operand types for {op}: {TypeName(a)} and {TypeName(b)}");
    }

    private static TemplateException DivideByZero(int line) => new($"line {line}: division by zero");

    public static bool Contains(object? container, object? item, int line) => container switch
    {
        string s when item is string t => s.Contains(t, StringComparison.Ordinal),
        IDictionary<string, object?> d => item is string k && d.ContainsKey(k),
        IList l => l.Cast<object?>().Any(x => Equal(x, item)),
        Undefined => false,
        _ => throw new TemplateException($"line {line}: 'in' needs a string, list or dict on its right, not {TypeName(container)}"),
    };

    /// <summary><c>value.name</c>: a method of the value, else its item (Jinja tries the attribute first).</summary>
    public static object? Attribute(object? value, string name, int line)
    {
        switch (value)
        {
            case Undefined u: throw new TemplateException($"line {line}: '{u.Name}' is undefined (reading .{name})");
            case LoopInfo loop: return loop.Get(name, line);
            case Namespace ns: return ns.TryGetValue(name, out var v) ? v : new Undefined(name);
        }
        if (TemplateBuiltins.Method(value, name, line) is Callable method) return method;
        if (value is IDictionary<string, object?> dict) return dict.TryGetValue(name, out var item) ? item : new Undefined(name);
        if (value is null) throw new TemplateException($"line {line}: none has no attribute '{name}'");
        return new Undefined(name);
    }

    /// <summary><c>value[index]</c>: the item (negative indexes count from the end), else the attribute.</summary>
    public static object? Index(object? value, object? index, int line)
    {
        switch (value)
        {
            case Undefined u: throw new TemplateException($"line {line}: '{u.Name}' is undefined (reading [{Repr(index)}])");
            case IDictionary<string, object?> dict when index is string key:
                return dict.TryGetValue(key, out var item) ? item : value is Namespace ? new Undefined(key) : Attribute(value, key, line);
            case IList list when index is long i:
                long at = i < 0 ? list.Count + i : i;
                return at >= 0 && at < list.Count ? list[(int)at] : new Undefined($"[{i}]");
            case string s when index is long j:
                long k = j < 0 ? s.Length + j : j;
                return k >= 0 && k < s.Length ? s[(int)k].ToString() : new Undefined($"[{j}]");
            case null: throw new TemplateException($"line {line}: none is not subscriptable");
        }
        return index is string name ? Attribute(value, name, line) : new Undefined($"[{Repr(index)}]");
    }

    /// <summary>Python's slice value[start:stop:step] of a list or string.</summary>
    public static object? Slice(object? value, object? start, object? stop, object? step, int line)
    {
        int count = value switch
        {
            string s => s.Length,
            IList l => l.Count,
            _ => throw new TemplateException($"line {line}: cannot slice {TypeName(value)}"),
        };
        long by = step is long st ? st : 1;
        if (by == 0) throw new TemplateException($"line {line}: slice step cannot be zero");
        long Bound(object? v, long fallback)
        {
            if (v is null or Undefined) return fallback;
            if (v is not long n) throw new TemplateException($"line {line}: slice indices must be integers");
            if (n < 0) n += count;
            return by > 0 ? Math.Clamp(n, 0, count) : Math.Clamp(n, -1, count - 1);
        }
        long from = Bound(start, by > 0 ? 0 : count - 1), to = Bound(stop, by > 0 ? count : -1);
        var indexes = new List<int>();
        for (long i = from; by > 0 ? i < to : i > to; i += by) indexes.Add((int)i);
        return value is string text
            ? string.Concat(indexes.Select(i => text[i]))
            : indexes.Select(i => ((IList)value!)[i]).ToList();
    }
}
