using System.CommandLine;
using SpecDec.Cli;

namespace SpecDec.Tests;

/// <summary>Runs one CLI command in process with its stdout and stderr captured.</summary>
internal static class CommandInvocation
{
    /// <summary>The command's action alone: user mistakes still throw, so a test can check the exception.</summary>
    public static (int Code, string Out, string Err) Run(Command command, string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = new RootCommand { command }.Parse(args).Invoke(
            new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>As the installed tool runs it, through <see cref="CliRunner"/>: user mistakes become an `error:` line.</summary>
    public static (int Code, string Out, string Err) RunCli(Command command, string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliRunner.Run(new RootCommand { command }, args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
