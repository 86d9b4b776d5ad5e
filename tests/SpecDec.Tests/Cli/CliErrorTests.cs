using SpecDec.Cli.Commands;

namespace SpecDec.Tests.Cli;

/// <summary>Every CLI mistake, parse errors included, is one `error:` line on stderr, exit code 1, nothing on stdout.</summary>
public sealed class CliErrorTests
{
    [Theory]
    [InlineData("generate", "--prompt", "x", "--seed", "-1")]
    [InlineData("generate", "--prompt", "x", "--no-such-option")]
    [InlineData("generate", "--prompt")]
    [InlineData("generate", "--prompt", "x", "--temperature", "hot")]
    [InlineData("generate", "--prompt", "x", "--spec", "bogus")]
    public void ParseErrorsAreOneErrorLine(params string[] args)
    {
        var (code, output, error) = CommandInvocation.RunCli(GenerateCommand.Create(), args);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.DoesNotContain("System.", line);
    }

    [Fact]
    public void TheSeedErrorSaysWhatIsExpected()
    {
        var (_, _, error) = CommandInvocation.RunCli(GenerateCommand.Create(), ["generate", "--prompt", "x", "--seed", "-1"]);
        Assert.Contains("--seed", error);
        Assert.Contains("a whole number ≥ 0", error);
    }

    [Fact]
    public void AnUnknownSpecNamesTheOptionAndItsValues()
    {
        var (_, _, error) = CommandInvocation.RunCli(GenerateCommand.Create(), ["generate", "--prompt", "x", "--spec", "bogus"]);
        // Other tests register methods of their own, which the list may name too.
        Assert.StartsWith("error: --spec must be none, draft, pld", error);
        Assert.EndsWith("not 'bogus'", error.Trim());
    }

    [Fact]
    public void MultiLineParseMessagesBecomeOneLine() =>
        Assert.Equal("Argument 'b' not recognized. Must be one of: 'x', 'y'",
            SpecDec.Cli.CliRunner.Readable("Argument 'b' not recognized. Must be one of:\n\t'x'\n\t'y'"));

    [Fact]
    public void HelpGoesToStdoutOnlyWhenAskedFor()
    {
        var (code, output, error) = CommandInvocation.RunCli(GenerateCommand.Create(), ["generate", "--help"]);
        Assert.Equal(0, code);
        Assert.Contains("--max-tokens", output);
        Assert.Equal("", error);
    }
}
