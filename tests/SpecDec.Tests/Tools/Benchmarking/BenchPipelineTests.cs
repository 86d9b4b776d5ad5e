using System.Text.Json;
using System.Xml.Linq;
using SpecDec.Generation;
using SpecDec.Tests.Generation;
using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

/// <summary>
/// The whole benchmark on the n-gram test model: run, metrics, lossless check and the four files, with the
/// draft model and prompt lookup against plain decoding.
/// </summary>
public class BenchPipelineTests
{
    private const int V = 12;
    private static readonly TestTokenizer Tokenizer = new(V);

    private static readonly BenchItem[] Items =
    [
        new("p-0", "prose", "test", "cabbagedeaf", []),
        new("p-1", "prose", "test", "fed", []),
        new("c-0", "code", "test", "abcabcabcabcab", []),
    ];

    private static (IReadOnlyList<BenchMethod> Methods, IReadOnlyList<BenchRecord> Records) Run(int runs = 1, int maxTokens = 24)
    {
        var target = new NGramTestModel(Tokenizer, seed: 1, scale: 3f, positionScale: 0.6f);
        var draft = new NGramTestModel(Tokenizer, seed: 1, scale: 3f, positionScale: 0.6f, noiseSeed: 9, noiseScale: 1.2f);
        var methods = BenchMethods.Parse("draft,draft-fixed:3,pld", hasDraftModel: true);
        var runner = new BenchRunner(new Generator(target, draft), methods, new BenchSettings { MaxTokens = maxTokens, Runs = runs });
        var progress = new List<BenchProgress>();
        var records = runner.Run(Items, progress.Add);
        Assert.Equal(methods.Count * (1 + runs * Items.Length), progress.Count);
        Assert.Equal(Enumerable.Range(1, progress.Count), progress.Select(p => p.Done));
        Assert.All(progress, p => Assert.Equal(progress.Count, p.Total));
        Assert.Equal(methods.Count, progress.Count(p => p.WarmUp));
        return (methods, records);
    }

    private static BenchRunInfo RunInfo(float temperature = 0) => new()
    {
        CommandLine = "specdec bench --test",
        StartedUtc = "2025-01-01T00:00:00Z",
        TaskDirectory = "(in memory)",
        Threads = 1,
        MaxTokens = 24,
        Temperature = temperature,
        Runs = 2,
        Seed = 42,
        Limit = null,
        Items = Items.Length,
    };

    [Fact]
    public void EveryItemMethodAndRunIsRecordedWithItsRounds()
    {
        var (methods, records) = Run(runs: 2);
        Assert.Equal(2 * Items.Length * methods.Count, records.Count);
        foreach (var r in records)
        {
            var turn = Assert.Single(r.Turns);
            Assert.Equal(24, turn.NewTokens);
            Assert.Equal(turn.NewTokens, turn.OutputIds.Count);
            // Each round produced its accepted drafts plus one token, and the rounds are all there.
            Assert.Equal(turn.Rounds, turn.AcceptLengths.Count);
            Assert.Equal(turn.Accepted + turn.Rounds, turn.AcceptLengths.Sum());
            Assert.True(turn.WallMs > 0);
            Assert.Equal(Tokenizer.Decode(turn.OutputIds.ToArray()), turn.Text);
        }
        Assert.All(records.Where(r => r.Method == "ar"), r => Assert.Equal(0, r.Turns[0].Drafted));
        Assert.Contains(records, r => r.Method == "draft" && r.Turns[0].Accepted > 0);
        Assert.Contains(records, r => r.Method == "pld" && r.Turns[0].Accepted > 0);
        Assert.All(records.Where(r => r.Method == "draft-fixed:3"), r => Assert.All(r.Turns[0].AcceptLengths, n => Assert.InRange(n, 1, 4)));
    }

    [Fact]
    public void TheRunPassesTheLosslessCheckAndWritesItsFiles()
    {
        var (methods, records) = Run();
        var summary = BenchSummary.From(RunInfo(), MachineInfo.Current(), [], methods, ["prose", "code", "math"], records);
        Assert.True(summary.Lossless.Passed, string.Join("\n", summary.Lossless.Mismatches));
        Assert.Equal(["prose", "code"], summary.Categories);
        Assert.Equal(methods.Count * 3, summary.Results.Count);

        string dir = Directory.CreateTempSubdirectory("specdec-bench-").FullName;
        try
        {
            BenchOutput.Write(dir, records, summary);

            var back = BenchOutput.ReadRecords(Path.Combine(dir, BenchOutput.RecordsFile));
            Assert.Equal(records.Select(r => (r.ItemId, r.Method, r.Run)), back.Select(r => (r.ItemId, r.Method, r.Run)));
            Assert.Equal(records.SelectMany(r => r.Turns[0].OutputIds), back.SelectMany(r => r.Turns[0].OutputIds));
            Assert.True(LosslessChecker.Check(back).Passed);
            using (var line = JsonDocument.Parse(File.ReadLines(Path.Combine(dir, BenchOutput.RecordsFile)).First()))
            {
                Assert.Equal("p-0", line.RootElement.GetProperty("item_id").GetString());
                Assert.Equal(JsonValueKind.Array, line.RootElement.GetProperty("turns")[0].GetProperty("accept_lengths").ValueKind);
            }

            var read = BenchOutput.ReadSummary(Path.Combine(dir, BenchOutput.SummaryFile));
            Assert.Equal(summary.Find("pld", BenchMetrics.Overall)!.Speedup, read.Find("pld", BenchMetrics.Overall)!.Speedup);
            Assert.True(read.Lossless.Passed);
            Assert.Equal(methods.Select(m => m.Name), read.Methods.Select(m => m.Name));

            string report = File.ReadAllText(Path.Combine(dir, BenchOutput.ReportFile));
            Assert.Contains("**Lossless check: passed**", report);
            Assert.Contains("| method | prose | code | **overall** |", report);
            Assert.Contains("| draft-fixed:3 |", report);
            Assert.Contains("![Speedup per category](speedup.svg)", report);
            Assert.Contains("specdec bench --test", report);

            var svg = XDocument.Load(Path.Combine(dir, BenchOutput.ChartFile));
            XNamespace ns = "http://www.w3.org/2000/svg";
            // One bar per non-baseline method and group (2 categories + overall), plus the background and legend swatches.
            var bars = svg.Descendants(ns + "rect").Where(r => r.Element(ns + "title") is not null).ToArray();
            Assert.Equal((methods.Count - 1) * 3, bars.Length);
            Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "overall");
            Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "draft-fixed:3");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ACancelledRunStopsAtTheNextItem()
    {
        // What Ctrl-C or SIGTERM does to `specdec bench`: the run stops between items and nothing is written.
        var runner = new BenchRunner(new Generator(new NGramTestModel(Tokenizer, seed: 1)), BenchMethods.Parse("pld", false), new BenchSettings { MaxTokens = 8 });
        using var cancel = new CancellationTokenSource();
        int seen = 0;
        Assert.Throws<OperationCanceledException>(() => runner.Run(Items, _ =>
        {
            if (++seen == 2) cancel.Cancel();
        }, cancel.Token));
        Assert.Equal(2, seen);
    }

    [Fact]
    public void ATurnIsCutToTheContextAndAPromptThatDoesNotFitIsLeftOut()
    {
        var target = new NGramTestModel(Tokenizer, seed: 1, contextLength: 16);
        var methods = BenchMethods.Parse("pld", hasDraftModel: false);
        var runner = new BenchRunner(new Generator(target), methods, new BenchSettings { MaxTokens = 24 });
        BenchItem[] items = [new("fits", "x", "", "abcabcabcab", []), new("too-long", "x", "", "abcdefghijklabcdefg", [])];
        var records = runner.Run(items);

        // 11 prompt tokens leave 5 of the 16 positions; 19 leave none.
        Assert.Equal(["fits", "fits", "too-long", "too-long"], records.Select(r => r.ItemId));
        Assert.All(records.Take(2), r => Assert.Equal((5, "MaxTokens"), (r.Turns[0].NewTokens, r.Turns[0].FinishReason)));
        Assert.All(records.Skip(2), r => Assert.Empty(r.Turns));
        var metrics = BenchMetrics.Compute(records, ["ar", "pld"], ["x"]);
        Assert.All(metrics, m => Assert.Equal(1, m.Items));
        Assert.True(LosslessChecker.Check(records).Passed);
        var summary = BenchSummary.From(RunInfo(), MachineInfo.Current(), [], methods, ["x"], records);
        Assert.Equal(["too-long"], summary.LeftOut);
        Assert.Contains("- Left out, their prompt does not fit the context: 1 (too-long)", MarkdownReport.Render(summary, null));
    }

    [Fact]
    public void MultiTurnItemsFeedTheModelsAnswersBack()
    {
        // One token per character, chat-tag characters included, so the chat format round-trips exactly.
        var chars = new TestTokenizer("abcdefghijklmnopqrstuvwxyz<|>\n ".Select(c => new[] { (byte)c }).ToArray());
        var target = new NGramTestModel(chars, seed: 3, scale: 3f);
        var draft = new NGramTestModel(chars, seed: 3, scale: 3f, noiseSeed: 5, noiseScale: 1f);
        string[] turns = ["what does abc mean", "any synonyms", "a more general term"];
        var item = new BenchItem("chat-0", "multi_turn", "test", ChatFormat.Prompt(turns, [], 0), turns);
        var runner = new BenchRunner(new Generator(target, draft), BenchMethods.Parse("draft,pld", true), new BenchSettings { MaxTokens = 16 });
        var records = runner.Run([item]);

        Assert.True(LosslessChecker.Check(records).Passed);
        foreach (var record in records)
        {
            Assert.Equal(3, record.Turns.Count);
            var answers = new List<string>();
            for (int t = 0; t < 3; t++)
            {
                // Each turn's prompt is the conversation so far with the model's own earlier answers.
                string prompt = ChatFormat.Prompt(turns, answers, t);
                Assert.Equal(chars.Encode(prompt).Length, record.Turns[t].PromptTokens);
                answers.Add(ChatFormat.Answer(chars.Decode(record.Turns[t].OutputIds.ToArray())));
            }
            Assert.All(answers, a => Assert.NotEmpty(a));  // so the prompts above really held answers
            Assert.Equal(record.Turns.Sum(t => t.NewTokens), record.NewTokens);
        }
    }

    [Fact]
    public void SampledRunsAreNotCheckedForEquality()
    {
        var (methods, records) = Run();
        var summary = BenchSummary.From(RunInfo(temperature: 0.7f), MachineInfo.Current(), [], methods, ["prose", "code"], records);
        Assert.False(summary.Lossless.Checked);
        Assert.Contains("not run", MarkdownReport.Verdict(summary.Lossless));
    }

    [Fact]
    public void CompareShowsPerCategoryDeltas()
    {
        var (methods, records) = Run();
        var a = BenchSummary.From(RunInfo(), MachineInfo.Current(), [], methods, ["prose", "code"], records);
        var faster = a.Results.Select(m => m.Method == "pld" && m.Category == "code" ? m with { Speedup = m.Speedup + 0.5 } : m).ToArray();
        var b = a with { Results = faster, Run = a.Run with { MaxTokens = 64 } };
        string text = SummaryComparison.Render(a, b, "a.json", "b.json");
        Assert.Contains("## pld", text);
        Assert.Contains("differs: max tokens: 24 vs 64", text);
        var pldCode = text.Split('\n').SkipWhile(l => l != "## pld").First(l => l.StartsWith("| code |"));
        Assert.Contains("| +0.50 |", pldCode);
        var pldProse = text.Split('\n').SkipWhile(l => l != "## pld").First(l => l.StartsWith("| prose |"));
        Assert.Contains("| +0.00 |", pldProse);
    }
}
