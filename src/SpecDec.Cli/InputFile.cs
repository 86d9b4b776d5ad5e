namespace SpecDec.Cli;

/// <summary>
/// A file argument checked before use, so a folder is reported as a folder (the OS says "access denied" or
/// "no such file" for it) and the message says what was expected.
/// </summary>
internal static class InputFile
{
    /// <param name="name">The option or argument that gave the path, e.g. "--prompt-file".</param>
    /// <param name="expected">What the path should be, e.g. "a .gguf file".</param>
    public static string Require(string path, string name, string expected)
    {
        if (Directory.Exists(path)) throw new SpecDecException($"{name} {path}: is a folder; expected {expected}");
        if (!File.Exists(path)) throw new SpecDecException($"{name} {path}: no such file; expected {expected}");
        return Path.GetFullPath(path);
    }
}
