using System.Text.RegularExpressions;

namespace SpecDec.Tests.Architecture;

/// <summary>
/// Which top-level namespaces of the engine (SpecDec.X, for X = Model, Kernels, …) each one refers to, read
/// from the source: every file's <c>using SpecDec.X</c> directives and fully qualified <c>SpecDec.X.</c> names.
/// </summary>
internal sealed partial class NamespaceGraph
{
    readonly Dictionary<string, HashSet<string>> _edges = [];

    public NamespaceGraph(IEnumerable<(string From, string To)> edges)
    {
        foreach (var (from, to) in edges)
        {
            if (from == to) continue;
            if (!_edges.TryGetValue(from, out var targets)) _edges[from] = targets = [];
            targets.Add(to);
        }
    }

    /// <summary>The graph of every .cs file under <paramref name="sourceFolder"/> (bin and obj left out).</summary>
    public static NamespaceGraph Read(string sourceFolder)
    {
        var edges = new List<(string, string)>();
        foreach (string file in Directory.EnumerateFiles(sourceFolder, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(sourceFolder, file);
            if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal)) continue;
            string text = File.ReadAllText(file);
            Match ns = FileNamespace().Match(text);
            if (!ns.Success || !ns.Groups[1].Success) continue; // the root namespace (SpecDecException) is below every layer
            string from = ns.Groups[1].Value;
            foreach (Match m in Using().Matches(text)) edges.Add((from, m.Groups[1].Value));
            foreach (Match m in Qualified().Matches(Using().Replace(FileNamespace().Replace(text, ""), ""))) edges.Add((from, m.Groups[1].Value));
        }
        return new NamespaceGraph(edges);
    }

    public IReadOnlyCollection<string> Namespaces => _edges.Keys.Union(_edges.Values.SelectMany(t => t)).ToArray();

    public IReadOnlySet<string> Targets(string from) => _edges.TryGetValue(from, out var t) ? t : new HashSet<string>();


    /// <summary>Every cycle's members (strongly connected components of more than one namespace), each sorted.</summary>
    public IReadOnlyList<string[]> Cycles()
    {
        var cycles = new List<string[]>();
        var done = new HashSet<string>();
        foreach (string start in Namespaces.Order())
        {
            if (done.Contains(start)) continue;
            HashSet<string> forward = Reachable(start, n => Targets(n));
            var component = forward.Where(n => Reachable(n, m => Targets(m)).Contains(start)).ToHashSet();
            component.Add(start);
            done.UnionWith(component);
            if (component.Count > 1) cycles.Add(component.Order().ToArray());
        }
        return cycles;
    }

    static HashSet<string> Reachable(string start, Func<string, IEnumerable<string>> next)
    {
        var seen = new HashSet<string>();
        var stack = new Stack<string>(next(start));
        while (stack.Count > 0)
        {
            string n = stack.Pop();
            if (seen.Add(n)) foreach (string m in next(n)) stack.Push(m);
        }
        return seen;
    }

    [GeneratedRegex(@"^namespace SpecDec(?:\.(\w+))?[\w.]*;", RegexOptions.Multiline)]
    private static partial Regex FileNamespace();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?SpecDec\.(\w+)[\w.]*\s*;", RegexOptions.Multiline)]
    private static partial Regex Using();

    [GeneratedRegex(@"(?<![\w.])SpecDec\.(\w+)\.")]
    private static partial Regex Qualified();
}
