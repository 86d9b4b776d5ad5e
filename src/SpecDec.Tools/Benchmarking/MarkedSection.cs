namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// The generated part of a hand-written Markdown file: the lines between <see cref="Begin"/> and
/// <see cref="End"/> (each on a line of its own), which <c>specdec bench --markdown-summary … --update FILE</c> rewrites and nothing else
/// touches. HTML comments, so the markers do not show on GitHub.
/// </summary>
public static class MarkedSection
{
    public const string Begin = "<!-- bench-summary:begin -->";
    public const string End = "<!-- bench-summary:end -->";

    /// <summary>
    /// <paramref name="text"/> with everything between the markers replaced by <paramref name="content"/>;
    /// throws a <see cref="SpecDecException"/> naming <paramref name="source"/> unless each marker occurs
    /// exactly once, begin before end.
    /// </summary>
    public static string Replace(string text, string content, string source)
    {
        int begin = Single(text, Begin, source);
        int end = Single(text, End, source);
        if (end < begin) throw new SpecDecException($"{source}: '{End}' comes before '{Begin}'");
        if (!content.EndsWith('\n')) content += "\n";
        return string.Concat(text.AsSpan(0, begin + Begin.Length), "\n", content, text.AsSpan(end));
    }

    /// <summary>Where the one line that is exactly <paramref name="marker"/> starts; a mention inside other text does not count.</summary>
    private static int Single(string text, string marker, string source)
    {
        int found = -1;
        for (int at = text.IndexOf(marker, StringComparison.Ordinal); at >= 0; at = text.IndexOf(marker, at + marker.Length, StringComparison.Ordinal))
        {
            int after = at + marker.Length;
            bool ownLine = (at == 0 || text[at - 1] == '\n')
                && (after == text.Length || text[after] == '\n' || text.AsSpan(after).StartsWith("\r\n"));
            if (!ownLine) continue;
            if (found >= 0) throw new SpecDecException($"{source}: the line '{marker}' occurs more than once");
            found = at;
        }
        return found >= 0 ? found : throw new SpecDecException($"{source}: no '{marker}' line marks where the results go");
    }
}
