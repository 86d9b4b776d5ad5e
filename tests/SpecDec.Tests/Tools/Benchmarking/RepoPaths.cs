namespace SpecDec.Tests.Tools.Benchmarking;

/// <summary>Finds files of the repository from the test assembly's folder (the folder holding SpecDec.slnx).</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Tasks => Path.Combine(Root, "bench", "tasks");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SpecDec.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no SpecDec.slnx above {AppContext.BaseDirectory}");
    }
}
