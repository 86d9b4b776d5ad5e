using System.CommandLine;
using System.CommandLine.Help;
using System.Text.RegularExpressions;

namespace SpecDec.Cli;

/// <summary>
/// Runs the command line and turns every user mistake, parse errors included, into one `error:` line on stderr
/// and exit code 1, with nothing on stdout; help is printed only when asked for with --help.
/// </summary>
public static partial class CliRunner
{
    /// <summary>Exit code of a command stopped by SIGINT or SIGTERM (see <see cref="SignalCancellation"/>), as shells report it.</summary>
    public const int Cancelled = 130;

    public static int Run(RootCommand root, string[] args) => Run(root, args, Console.Out, Console.Error);

    public static int Run(RootCommand root, string[] args, TextWriter output, TextWriter error)
    {
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            error.WriteLine($"error: {Readable(parse.Errors[0].Message)}");
            return 1;
        }
        if (Kernels.KernelPaths.SettingError is string setting)
        {
            error.WriteLine($"error: {setting}");
            return 1;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("error: cancelled; nothing was written");
            return Cancelled;
        }
        catch (Exception e) when (IsUserError(e))
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Problems with the user's files or options; anything else is a bug and keeps its stack trace.</summary>
    public static bool IsUserError(Exception e) =>
        e is SpecDecException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
          or IOException;

    /// <summary>System.CommandLine names the expected .NET type (System.Nullable`1[System.UInt64]); users want the kind of value.</summary>
    /// <remarks>Multi-line messages (a list of allowed values, one per line) become one line.</remarks>
    internal static string Readable(string message) =>
        TypeName().Replace(OneLine(message), m => m.Groups["type"].Value switch
        {
            "Byte" or "UInt16" or "UInt32" or "UInt64" => "a whole number ≥ 0",
            "SByte" or "Int16" or "Int32" or "Int64" => "a whole number",
            "Single" or "Double" or "Decimal" => "a number",
            "Boolean" => "true or false",
            string other => $"a {other} value",
        });

    private static string OneLine(string message)
    {
        string[] lines = message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return lines.Length <= 1 ? message.Trim() : lines[0] + " " + string.Join(", ", lines[1..]);
    }

    [GeneratedRegex(@"expected type '(?:System\.Nullable`1\[)?(?:\w+\.)*(?<type>\w+)\]?'")]
    private static partial Regex TypeName();
}
