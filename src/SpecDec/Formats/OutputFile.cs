namespace SpecDec.Formats;

/// <summary>
/// The rules every file SpecDec writes follows: never over one of its inputs, and never half-written: the data
/// goes to a temporary file in the target folder (so the rename stays on one file system), renamed over the
/// target only when complete, and removed on any failure or cancellation.
/// </summary>
public static class OutputFile
{
    /// <summary>Refuses <paramref name="output"/> when it is (or, through links, resolves to) one of <paramref name="inputs"/>.</summary>
    public static void CheckNotInput(string output, IEnumerable<string> inputs)
    {
        if (Directory.Exists(output)) throw new SpecDecException($"{output}: is a folder; give the path of the file to write");
        string target = Resolved(output);
        foreach (string input in inputs)
        {
            if (string.Equals(Resolved(input), target, OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase))
                throw new SpecDecException($"{output}: is one of the inputs; write the output to another file");
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> on a temporary file beside <paramref name="path"/> and renames it to
    /// <paramref name="path"/>; on an exception, cancellation included, the temporary file is deleted.
    /// </summary>
    public static void Write(string path, Action<Stream> write, CancellationToken cancel = default)
    {
        string temp = path + ".partial";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                write(stream);
            cancel.ThrowIfCancellationRequested();
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// Creates <paramref name="folder"/> if needed and proves it writable by creating and deleting a file in it, so
    /// a long run that writes its results at the end fails at the start instead of losing its work.
    /// </summary>
    public static void PrepareFolder(string folder, string option)
    {
        if (File.Exists(folder)) throw new SpecDecException($"{option} {folder}: is a file, not a folder");
        try
        {
            Directory.CreateDirectory(folder);
            string probe = Path.Combine(folder, $".specdec-write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpecDecException($"{option} {folder}: cannot write there ({e.Message})");
        }
    }

    private static string Resolved(string path)
    {
        var file = new FileInfo(Path.GetFullPath(path));
        return file.Exists && file.LinkTarget is not null ? file.ResolveLinkTarget(returnFinalTarget: true)!.FullName : file.FullName;
    }
}
