using System.Text;
using System.Text.Json;

namespace SpecDec.Templates;

/// <summary>
/// A Jinja template, in the subset chat templates use, rendered with Hugging Face's settings (trim_blocks,
/// lstrip_blocks, loop controls, <c>raise_exception</c>, <c>strftime_now</c>, <c>tojson</c>): statements if,
/// for (with else, a filter and <c>loop</c>), set (also of a namespace attribute, and as a block), macro, break,
/// continue, filter blocks, raw and transformers' generation tag; Python's operators, methods of strings and
/// dicts, slices; the filters and tests in <see cref="TemplateBuiltins"/>. A construct outside the subset is
/// refused by name, at parse time where it can be.
/// </summary>
public sealed class Template
{
    private readonly List<Stmt> _body;

    private Template(List<Stmt> body) => _body = body;

    /// <summary>Throws a <see cref="TemplateException"/> naming the line and construct that cannot be parsed.</summary>
    public static Template Parse(string source) => new(TemplateParser.Parse(source));

    /// <summary>
    /// Renders with <paramref name="variables"/>: .NET strings, bools, integers, doubles, null, lists and
    /// string-keyed dictionaries, or <see cref="JsonElement"/>s; throws a <see cref="TemplateException"/> with the
    /// template's own message (<c>raise_exception</c>) or naming what failed. <paramref name="now"/> is the clock
    /// of <c>strftime_now</c> (the local time unless given).
    /// </summary>
    public string Render(IReadOnlyDictionary<string, object?> variables, Func<DateTimeOffset>? now = null)
    {
        var globals = new Scope(null);
        foreach (var (name, value) in variables) globals.Set(name, FromDotNet(value));
        var output = new StringBuilder();
        Stmt.RenderAll(_body, new RenderContext(new Scope(globals), now ?? (() => DateTimeOffset.Now)), output);
        return output.ToString();
    }

    /// <summary>A .NET or JSON value as the template's Python-like values.</summary>
    internal static object? FromDotNet(object? value) => value switch
    {
        null or string or bool or long or double => value,
        int i => (long)i,
        float f => (double)f,
        JsonElement e => FromJson(e),
        IReadOnlyDictionary<string, object?> d => d.ToDictionary(x => x.Key, x => FromDotNet(x.Value)),
        IDictionary<string, object?> d => d.ToDictionary(x => x.Key, x => FromDotNet(x.Value)),
        System.Collections.IEnumerable list => list.Cast<object?>().Select(FromDotNet).ToList(),
        _ => throw new ArgumentException($"a template variable cannot be a {value.GetType().Name}"),
    };

    private static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) ? (object)l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)),
        _ => null,
    };
}
