using System.CommandLine;
using System.Xml.Linq;
using SpecDec.Cli;
using SpecDec.Cli.Commands;
using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

/// <summary>
/// `specdec bench` end to end on the shipped models (the small draft as target, the tiny draft drafting for it):
/// real tokenizer and chat format, a multi-turn item and a code item, two methods, a few tokens. It must pass
/// the lossless check and write all four files, with either KV cache type.
/// </summary>
public class BenchSmokeTests
{
    [Theory]
    [InlineData("f32")]
    [InlineData("f16")]
    public void ATinyRunOnTheShippedModelsIsLosslessAndWritesItsFiles(string cacheType)
    {
        string target = Path.Combine(RepoPaths.Root, "models", "draft-small-q8_0.gguf");
        string draft = Path.Combine(RepoPaths.Root, "models", "draft-tiny-q8_0.gguf");
        string dir = Directory.CreateTempSubdirectory("specdec-bench-smoke-").FullName;
        try
        {
            var root = new RootCommand();
            root.Subcommands.Add(BenchCommand.Create());
            int exit = CliRunner.Run(root,
            [
                "bench", "--model", target, "--draft-model", draft, "--methods", "ar,draft-fixed:3", "--tasks", RepoPaths.Tasks,
                "--categories", "multi_turn,code_edit", "--limit", "1", "--max-tokens", "12", "--threads", "1", "--cache-type", cacheType, "--out", dir,
            ]);
            Assert.Equal(0, exit);

            var records = BenchOutput.ReadRecords(Path.Combine(dir, BenchOutput.RecordsFile));
            Assert.Equal([("multi_turn-0000", "ar"), ("multi_turn-0000", "draft-fixed:3"), ("code_edit-0000", "ar"), ("code_edit-0000", "draft-fixed:3")],
                records.Select(r => (r.ItemId, r.Method)));
            Assert.All(records.Where(r => r.ItemId == "multi_turn-0000"), r => Assert.Equal(3, r.Turns.Count));
            Assert.All(records.SelectMany(r => r.Turns), t => Assert.InRange(t.NewTokens, 1, 12));
            Assert.Contains(records, r => r.Method == "draft-fixed:3" && r.Turns.Sum(t => t.Accepted) > 0);

            var summary = BenchOutput.ReadSummary(Path.Combine(dir, BenchOutput.SummaryFile));
            Assert.True(summary.Lossless.Passed, string.Join("\n", summary.Lossless.Mismatches));
            Assert.Equal(["multi_turn", "code_edit"], summary.Categories);
            Assert.Equal(["target", "draft"], summary.Models.Select(m => m.Role));
            Assert.Equal(1, summary.Run.Threads);
            Assert.Equal(cacheType, summary.Run.CacheType);
            string report = File.ReadAllText(Path.Combine(dir, BenchOutput.ReportFile));
            Assert.Contains("**Lossless check: passed**", report);
            Assert.Contains($"- Device: cpu; threads: 1; KV cache {cacheType}", report);
            XNamespace ns = "http://www.w3.org/2000/svg";
            Assert.Equal(3, XDocument.Load(Path.Combine(dir, BenchOutput.ChartFile)).Descendants(ns + "rect").Count(r => r.Element(ns + "title") is not null));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
