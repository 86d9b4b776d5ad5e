using System.Collections;
using System.Globalization;
using System.Text;

namespace SpecDec.Templates;

/// <summary>
/// The <c>tojson</c> filter as transformers defines it: Python's <c>json.dumps(value, ensure_ascii=False,
/// indent=indent, sort_keys=sort_keys)</c>, so separators are ", " and ": " without an indent and "," and ": "
/// with one, and non-ASCII text is written as is.
/// </summary>
internal static class TemplateJson
{
    public static string Write(object? value, int? indent, bool sortKeys, int line)
    {
        var sb = new StringBuilder();
        Write(sb, value, indent, sortKeys, 0, line);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, int? indent, bool sortKeys, int depth, int line)
    {
        switch (value)
        {
            case null or Undefined: sb.Append("null"); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case double d: sb.Append(double.IsFinite(d) ? TemplateValues.FloatRepr(d) : double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"); return;
            case string s: String(sb, s); return;
            case IDictionary<string, object?> dict:
            {
                var entries = sortKeys ? dict.OrderBy(e => e.Key, StringComparer.Ordinal).ToList() : dict.ToList();
                Container(sb, '{', '}', entries.Count, indent, depth, i =>
                {
                    String(sb, entries[i].Key);
                    sb.Append(": ");
                    Write(sb, entries[i].Value, indent, sortKeys, depth + 1, line);
                });
                return;
            }
            case IList list:
                Container(sb, '[', ']', list.Count, indent, depth, i => Write(sb, list[i], indent, sortKeys, depth + 1, line));
                return;
            default:
                throw new TemplateException($"line {line}: tojson cannot write {TemplateValues.TypeName(value)}");
        }
    }

    private static void Container(StringBuilder sb, char open, char close, int count, int? indent, int depth, Action<int> item)
    {
        sb.Append(open);
        if (count == 0) { sb.Append(close); return; }
        for (int i = 0; i < count; i++)
        {
            if (i > 0) sb.Append(indent is null ? ", " : ",");
            if (indent is int n) sb.Append('\n').Append(' ', n * (depth + 1));
            item(i);
        }
        if (indent is int m) sb.Append('\n').Append(' ', m * depth);
        sb.Append(close);
    }

    private static void String(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
