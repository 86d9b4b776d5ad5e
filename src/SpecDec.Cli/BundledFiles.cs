namespace SpecDec.Cli;

/// <summary>
/// The files the repository ships beside the tool: the demo models of models/ (the defaults of every command
/// when no --model is given) and the benchmark task set of bench/. The only place that knows their names.
/// </summary>
public static class BundledFiles
{
    public const string Target = "models/target-q8_0.gguf";
    public const string DraftSmall = "models/draft-small-q8_0.gguf";
    public const string DraftTiny = "models/draft-tiny-q8_0.gguf";
    public const string BenchTasks = "bench/tasks";
    public const string EagleHead = "models/eagle-q8_0.gguf";
    public const string MedusaHeads = "models/medusa-q8_0.gguf";

    /// <summary>
    /// The retrieval datastore `--spec rest` reads unless told otherwise: the demo models' training text (never
    /// benchmark items), built by the command in models/README.md.
    /// </summary>
    public const string Datastore = "models/corpus-datastore.sdds";

    /// <summary>
    /// The draft a speculative command uses unless told otherwise. The tiny draft, although it agrees with the
    /// target less often: on two cores the draft's cost per token (its own prefill of the prompt included)
    /// matters more than its acceptance. `specdec bench --limit 6`, greedy, decode speedup over all
    /// categories: draft-tiny 1.26×, draft-small 1.05×; it is ahead in every category.
    /// </summary>
    public const string Draft = DraftTiny;

    /// <summary>
    /// <paramref name="relative"/> under the current folder or the tool's own folder (where the installed tool's
    /// package puts its models, see SpecDec.Cli.csproj), or one of their parents; null when neither has it.
    /// </summary>
    public static string? Find(string relative) => Find(relative, [Environment.CurrentDirectory, AppContext.BaseDirectory]);

    /// <summary><paramref name="relative"/> under the first of <paramref name="starts"/> (or a parent) that has it.</summary>
    internal static string? Find(string relative, IEnumerable<string> starts)
    {
        foreach (string start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate) || Directory.Exists(candidate))
                    return Path.GetRelativePath(Environment.CurrentDirectory, candidate);
            }
        }
        return null;
    }

    /// <summary>Like <see cref="Find"/>, but a missing file is the user's to fix: say which option supplies it.</summary>
    public static string Require(string relative, string option) =>
        Find(relative) ?? throw new SpecDecException($"no {option} given and no bundled file found at {relative}");
}
