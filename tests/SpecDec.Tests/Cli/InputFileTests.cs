using System.CommandLine;
using SpecDec.Cli.Commands;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Cli;

/// <summary>A folder where a file is expected is reported as a folder, with what was expected, not as "access denied".</summary>
public sealed class InputFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Commands => ["generate", "quantize", "perf"];

    [Theory]
    [MemberData(nameof(Commands))]
    public void AFolderIsReportedAsAFolder(string name)
    {
        (Command command, string[] args, string expected) = name switch
        {
            "generate" => (GenerateCommand.Create(), new[] { "generate", "--prompt-file", _dir.Path }, "--prompt-file"),
            "quantize" => (QuantizeCommand.Create(), ["quantize", _dir.Path, _dir.File("out.gguf"), "--type", "q8_0"], "a .gguf file"),
            _ => (PerfCommand.Create(), ["perf", "--model", _dir.Path], "a .gguf file"),
        };
        var (code, output, error) = CommandInvocation.RunCli(command, args);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("is a folder", error);
        Assert.Contains(expected, error);
    }
}
