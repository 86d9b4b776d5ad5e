using System.CommandLine;
using SpecDec.Cli;
using SpecDec.Cli.Commands;
using SpecDec.Generation;
using SpecDec.Tests.Formats;
using SpecDec.Tests.Generation;
using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

/// <summary>
/// The `specdec bench` command line: user mistakes end in exit code 1, --compare reads two summaries,
/// --markdown-summary --update writes the results table into marked Markdown files.
/// </summary>
public class BenchCommandTests
{
    private static int Bench(params string[] args)
    {
        var root = new RootCommand();
        root.Subcommands.Add(BenchCommand.Create());
        return CliRunner.Run(root, ["bench", .. args]);
    }

    [Theory]
    [InlineData("--threads", "-1")]
    [InlineData("--categories", "poetry")]
    [InlineData("--methods", "beam")]
    [InlineData("--limit", "-1")]
    [InlineData("--max-tokens", "0")]
    [InlineData("--runs", "0")]
    [InlineData("--temperature", "-1")]
    public void UserMistakesExitWithOne(string option, string value) =>
        Assert.Equal(1, Bench("--tasks", RepoPaths.Tasks, "--model", "/nonexistent/model.gguf", option, value));

    [Fact]
    public void AnUnusableOutFolderFailsBeforeTheModelIsLoaded()
    {
        using var dir = new TempDirectory();
        string file = dir.File("results");
        File.WriteAllText(file, "");
        foreach ((string outDir, string message) in new[] { (file, "is a file"), (Path.Combine(file, "run"), "cannot write there") })
        {
            var (code, output, error) = CommandInvocation.RunCli(BenchCommand.Create(),
                ["bench", "--tasks", RepoPaths.Tasks, "--model", "/nonexistent/model.gguf", "--out", outDir]);
            Assert.Equal(1, code);
            Assert.Equal("", output);
            Assert.StartsWith($"error: --out {outDir}: {message}", error);
        }
    }

    [Fact]
    public void AMissingModelOrTaskFolderExitsWithOne()
    {
        Assert.Equal(1, Bench("--tasks", RepoPaths.Tasks, "--model", "/nonexistent/model.gguf"));
        Assert.Equal(1, Bench("--tasks", "/nonexistent/tasks", "--model", "/nonexistent/model.gguf"));
    }

    [Fact]
    public void CompareReadsTwoSummaries()
    {
        var tokenizer = new TestTokenizer(12);
        var methods = BenchMethods.Parse("pld", hasDraftModel: false);
        var records = new BenchRunner(new Generator(new NGramTestModel(tokenizer, seed: 1)), methods, new BenchSettings { MaxTokens = 8 })
            .Run([new BenchItem("a", "x", "", "abcabc", [])]);
        var run = new BenchRunInfo
        {
            CommandLine = "specdec bench", StartedUtc = "2025-01-01T00:00:00Z", TaskDirectory = "-", Threads = 1, MaxTokens = 8,
            Temperature = 0, Runs = 1, Seed = 42, Limit = null, Items = 1,
        };
        var summary = BenchSummary.From(run, MachineInfo.Current(), [], methods, ["x"], records);
        string dir = Directory.CreateTempSubdirectory("specdec-compare-").FullName;
        try
        {
            BenchOutput.Write(Path.Combine(dir, "a"), records, summary);
            BenchOutput.Write(Path.Combine(dir, "b"), records, summary);
            string a = Path.Combine(dir, "a", BenchOutput.SummaryFile), b = Path.Combine(dir, "b", BenchOutput.SummaryFile);
            Assert.Equal(0, Bench("--compare", a, b));
            Assert.Equal(1, Bench("--compare", a, Path.Combine(dir, "missing.json")));
            File.WriteAllText(Path.Combine(dir, "bad.json"), "{\"run\": 3}");
            Assert.Equal(1, Bench("--compare", a, Path.Combine(dir, "bad.json")));
            Assert.NotEqual(0, Bench("--compare", a));  // needs two files
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void MarkdownSummaryUpdatesTheMarkedFilesOrNoneOfThem()
    {
        string dir = Directory.CreateTempSubdirectory("specdec-publish-").FullName;
        try
        {
            BenchOutput.Write(Path.Combine(dir, "greedy"), BenchMetricsTests.Records, MarkdownReportTests.Summary());
            BenchOutput.Write(Path.Combine(dir, "t0.7"), BenchMetricsTests.Records, MarkdownReportTests.Summary(temperature: 0.7f));
            string[] summaries = [Path.Combine(dir, "greedy", BenchOutput.SummaryFile), Path.Combine(dir, "t0.7", BenchOutput.SummaryFile)];
            string readme = Path.Combine(dir, "README.md"), docs = Path.Combine(dir, "benchmarks.md"), plain = Path.Combine(dir, "plain.md");
            File.WriteAllText(readme, $"# R\n{MarkedSection.Begin}\nold\n{MarkedSection.End}\nend\n");
            File.WriteAllText(docs, $"# D\n{MarkedSection.Begin}\n{MarkedSection.End}\n");
            File.WriteAllText(plain, "no markers\n");

            // One file without markers: nothing is written.
            Assert.Equal(1, Bench(["--markdown-summary", .. summaries, "--update", readme, plain]));
            Assert.Contains("\nold\n", File.ReadAllText(readme));

            Assert.Equal(0, Bench(["--markdown-summary", .. summaries, "--update", readme, docs]));
            string table = ResultsSummary.Render([BenchOutput.ReadSummary(summaries[0]), BenchOutput.ReadSummary(summaries[1])]);
            Assert.Equal($"# R\n{MarkedSection.Begin}\n{table}{MarkedSection.End}\nend\n", File.ReadAllText(readme));
            Assert.Equal($"# D\n{MarkedSection.Begin}\n{table}{MarkedSection.End}\n", File.ReadAllText(docs));

            Assert.Equal(1, Bench("--update", readme));  // needs --markdown-summary
            Assert.Equal(1, Bench("--markdown-summary", Path.Combine(dir, "missing.json")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
