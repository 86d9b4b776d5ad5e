using System.CommandLine;

namespace SpecDec.Cli;

/// <summary>Runs the command line and turns user mistakes into one clear line on stderr, exit code 1.</summary>
public static class CliRunner
{
    public static int Run(RootCommand root, string[] args)
    {
        try
        {
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Problems with the user's files or options; anything else is a bug and keeps its stack trace.</summary>
    public static bool IsUserError(Exception e) =>
        e is SpecDecException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
          or IOException;
}
