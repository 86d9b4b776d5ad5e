using System.CommandLine;

namespace SpecDec.Tests;

/// <summary>Runs one CLI command in process with its stdout and stderr captured; user mistakes still throw.</summary>
internal static class CommandInvocation
{
    public static (int Code, string Out, string Err) Run(Command command, string[] args)
    {
        var root = new RootCommand { command };
        var output = new StringWriter();
        var error = new StringWriter();
        int code = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        return (code, output.ToString(), error.ToString());
    }
}
