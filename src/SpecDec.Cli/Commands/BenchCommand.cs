using System.CommandLine;
using System.Globalization;
using SpecDec.Backends.Cuda;
using SpecDec.Formats;
using SpecDec.Generation;
using SpecDec.Speculation;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Model.Heads;
using SpecDec.Tools.Benchmarking;
using Spectre.Console;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec bench`: a Spec-Bench-style benchmark of every speculative method on the task set in bench/tasks,
/// with the lossless check, per-category speedup, τ and α, and a report with a chart (docs/benchmarks.md).
/// `specdec bench --compare A.json B.json` sets two runs' summaries side by side; `specdec bench
/// --markdown-summary A.json B.json --update README.md docs/benchmarks.md` publishes runs' overall results.
/// </summary>
public static class BenchCommand
{
    /// <summary>Exit code when a method's greedy output differs from plain decoding.</summary>
    public const int LosslessFailure = 2;

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "target model: a .gguf file or a Hugging Face folder (default: the bundled target)" };
        var draftModel = new Option<string?>("--draft-model") { Description = "draft model for the draft methods (default: the bundled draft, draft-tiny)" };
        var methods = new Option<string?>("--methods")
        {
            Description = $"comma-separated methods, each optionally name:k for its draft length ({string.Join(", ", BenchMethods.Names)}; default: every one that can run). {BenchMethods.Baseline} is always run: it is the baseline",
        };
        var head = new Option<string?>("--head") { Description = $"EAGLE head for the eagle method (default: the bundled {BundledFiles.EagleHead})" };
        var medusaHeads = new Option<string?>("--heads") { Description = $"Medusa heads for the medusa method (default: the bundled {BundledFiles.MedusaHeads})" };
        var categories = new Option<string?>("--categories") { Description = "comma-separated categories (default: all)" };
        var limit = new Option<int>("--limit") { Description = "items per category; 0 runs every item", DefaultValueFactory = _ => 2 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "most new tokens per turn", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { Description = "0 is greedy and checks losslessness; above 0 samples", DefaultValueFactory = _ => 0f };
        var runs = new Option<int>("--runs") { Description = "timed runs after the warm-up", DefaultValueFactory = _ => 1 };
        var threads = ThreadsOption.Create();
        var cacheType = CacheTypeOption.Create();
        var device = new DeviceOption();
        var seed = new Option<ulong>("--seed") { Description = "sampling seed (for --temperature > 0)", DefaultValueFactory = _ => 42UL };
        var outDir = new Option<string?>("--out") { Description = "folder for records.jsonl, summary.json, report.md, speedup.svg (default: bench/results/<time>)" };
        var tasks = new Option<string?>("--tasks") { Description = "folder of task *.jsonl files (default: bench/tasks)" };
        var compare = new Option<string[]>("--compare")
        {
            Description = "compare two summary.json files (A then B) and exit",
            Arity = new ArgumentArity(2, 2),
            AllowMultipleArgumentsPerToken = true,
        };
        var markdownSummary = new Option<string[]>("--markdown-summary")
        {
            Description = "print one Markdown table of the overall results of these summary.json files (e.g. greedy and T = 0.7) and exit",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
        };
        var update = new Option<string[]>("--update")
        {
            Description = $"with --markdown-summary: write the table between the {MarkedSection.Begin} and {MarkedSection.End} lines of these Markdown files instead of printing it",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
        };

        var datastore = new Option<string?>("--datastore") { Description = $"datastore for the rest and auto methods (default: {BundledFiles.Datastore} with the bundled target)" };
        var command = new Command("bench", "Benchmark the speculative methods against plain decoding on the task set");
        foreach (var option in new Option[] { model, draftModel, head, medusaHeads, methods, datastore, categories, limit, maxTokens, temperature, runs, threads, cacheType, seed, outDir, tasks, compare, markdownSummary, update })
            command.Options.Add(option);
        foreach (Option option in device.Options) command.Options.Add(option);

        command.SetAction(parse =>
        {
            if (parse.GetValue(compare) is { Length: 2 } pair)
            {
                var a = BenchOutput.ReadSummary(pair[0]);
                var b = BenchOutput.ReadSummary(pair[1]);
                Console.Out.Write(SummaryComparison.Render(a, b, pair[0], pair[1]));
                return 0;
            }
            string[] updates = parse.GetValue(update) ?? [];
            if (parse.GetValue(markdownSummary) is { Length: > 0 } summaries)
                return WriteSummary(summaries, updates);
            if (updates.Length > 0) throw new SpecDecException("--update needs --markdown-summary with the summary.json files to write");
            var settings = new BenchSettings
            {
                MaxTokens = parse.GetValue(maxTokens),
                Temperature = parse.GetValue(temperature),
                Runs = parse.GetValue(runs),
                Seed = parse.GetValue(seed),
            };
            settings.Validate();
            int limitValue = parse.GetValue(limit);
            if (limitValue < 0) throw new SpecDecException($"--limit must be ≥ 0 (got {limitValue})");
            return Run(new Request(
                parse.GetValue(model), parse.GetValue(draftModel), parse.GetValue(methods), List(parse.GetValue(categories)),
                limitValue == 0 ? null : limitValue, ThreadsOption.Resolve(parse, threads), CacheTypeOption.Parse(parse.GetValue(cacheType)),
                parse.GetValue(outDir), parse.GetValue(tasks), settings, parse.GetValue(datastore), parse.GetValue(head), parse.GetValue(medusaHeads), device.Open(parse)));
        });
        return command;
    }

    /// <summary>--markdown-summary: prints the results table, or writes it into each of <paramref name="updates"/>.</summary>
    private static int WriteSummary(string[] summaries, string[] updates)
    {
        string table = ResultsSummary.Render(summaries.Select(BenchOutput.ReadSummary).ToArray());
        if (updates.Length == 0)
        {
            Console.Out.Write(table);
            return 0;
        }
        // Every file is checked before any is written, so a missing marker leaves all of them as they were.
        var updated = updates.Select(path => (path, text: MarkedSection.Replace(File.ReadAllText(path), table, path))).ToArray();
        foreach (var (path, text) in updated)
        {
            BenchOutput.WriteText(path, text);
            Console.Error.WriteLine($"updated {path}");
        }
        return 0;
    }

    private sealed record Request(string? Model, string? DraftModel, string? Methods, string[] Categories, int? Limit,
        int Threads, KvCacheType CacheType, string? Out, string? Tasks, BenchSettings Settings, string? Datastore, string? Head, string? Heads, CudaDevice? Gpu);

    private static int Run(Request request)
    {
        var started = DateTime.UtcNow;
        string taskDir = request.Tasks ?? BundledFiles.Find(BundledFiles.BenchTasks)
            ?? throw new SpecDecException("no bench/tasks folder found above the current directory; pass --tasks");
        var taskSet = BenchTaskSet.Load(taskDir);
        var items = taskSet.Select(request.Categories, request.Limit);
        string outDir = request.Out ?? Path.Combine("bench", "results",
            started.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        OutputFile.PrepareFolder(outDir, "--out"); // before the run, not after it

        string targetPath = request.Model ?? BundledFiles.Find(BundledFiles.Target)
            ?? throw new SpecDecException("no --model given and no bundled target model found in models/");
        // The draft methods need a draft: the one given, else the bundled one (only with the bundled target,
        // whose tokenizer it shares). Without one, --methods may still name ar and pld.
        string? draftPath = request.DraftModel ?? (request.Model is null ? BundledFiles.Find(BundledFiles.Draft) : null);
        if (request.Methods is not null && !BenchMethods.Parse(request.Methods, hasDraftModel: true).Any(m => m.NeedsDraftModel))
            draftPath = null;

        var models = new List<ModelInfo>();
        ILanguageModel? target = null, draft = null;
        using var pool = new WorkerPool(request.Gpu is null ? request.Threads : 1); // shared: target and draft take turns on the cores
        try
        {
            target = Load("target", targetPath, request, pool, models);
            if (draftPath is not null) draft = Load("draft", draftPath, request, pool, models);
            // The bundled store holds the bundled target's token ids: the default only with that model.
            string? store = request.Datastore ?? (request.Model is null ? BundledFiles.Find(BundledFiles.Datastore) : null);
            // Head methods read the heads given, else the bundled ones (only with the bundled target, which they were
            // trained for); without --methods they run when their head is there.
            string? eaglePath = request.Head ?? (request.Model is null ? BundledFiles.Find(BundledFiles.EagleHead) : null);
            string? medusaPath = request.Heads ?? (request.Model is null ? BundledFiles.Find(BundledFiles.MedusaHeads) : null);
            string[] headKinds = [.. new[] { (HeadFile.EagleKind, eaglePath), (HeadFile.MedusaKind, medusaPath) }.Where(h => h.Item2 is not null).Select(h => h.Item1)];
            var methods = (request.Methods is null
                    ? BenchMethods.Available(draft is not null, headKinds)
                    : BenchMethods.Parse(request.Methods, draft is not null))
                .Select(m => m.Speculation.Method is SpeculationMethods.Retrieval or SpeculationMethods.Auto ? m with { Speculation = m.Speculation with { Datastore = store } } : m)
                .ToList();
            using var heads = HeadLoading.Load(methods.Select(m => m.Speculation.Method), eaglePath, medusaPath, target, request.Threads);
            foreach ((string kind, string path) in heads.Files)
                models.Add(new ModelInfo(kind, path, ModelInfo.SizeOnDisk(path), "GGUF", kind, 1, target.Config.HiddenSize, target.Config.VocabSize, 0));
            var runner = new BenchRunner(new Generator(target, draft, heads.Heads), methods, request.Settings);
            if (heads.EagleRunsOn is string on) Console.Error.WriteLine($"bench: the EAGLE head runs on the {on}");

            Console.Error.WriteLine($"bench: {items.Count} items × {methods.Count} methods ({string.Join(", ", methods.Select(m => m.Name))}) × {request.Settings.Runs} run(s), at most {request.Settings.MaxTokens} tokens per turn");
            // Ctrl-C or SIGTERM stops the run between items: exit 130, and no result file is written.
            using var signals = new SignalCancellation();
            var records = RunWithProgress(runner, items, signals.Token);

            var run = new BenchRunInfo
            {
                CommandLine = CommandLine(),
                StartedUtc = started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                TaskDirectory = Path.GetRelativePath(Environment.CurrentDirectory, taskDir),
                Threads = pool.ThreadCount,
                Device = request.Gpu?.ToString() ?? "cpu",
                CacheType = request.CacheType.ToString().ToLowerInvariant(),
                MaxTokens = request.Settings.MaxTokens,
                Temperature = request.Settings.Temperature,
                Runs = request.Settings.Runs,
                Seed = request.Settings.Seed,
                Limit = request.Limit,
                Items = items.Count,
            };
            var summary = BenchSummary.From(run, MachineInfo.Current(), models, methods, taskSet.Categories, records);
            BenchOutput.Write(outDir, records, summary);

            Console.Out.WriteLine(MarkdownReport.Verdict(summary.Lossless));
            Console.Out.WriteLine();
            Console.Out.Write(MarkdownReport.SpeedupTable(summary));
            Console.Out.WriteLine($"wrote {Path.Combine(outDir, BenchOutput.ReportFile)}, {BenchOutput.SummaryFile}, {BenchOutput.RecordsFile}, {BenchOutput.ChartFile}");
            foreach (var mismatch in summary.Lossless.Mismatches) Console.Error.WriteLine($"lossless mismatch: {mismatch}");
            return summary.Lossless.Checked && !summary.Lossless.Passed ? LosslessFailure : 0;
        }
        finally
        {
            draft?.Dispose();
            target?.Dispose();
        }
    }

    /// <summary>Loads a model and adds what the summary records of it to <paramref name="models"/>.</summary>
    private static ILanguageModel Load(string role, string path, Request request, WorkerPool pool, List<ModelInfo> models)
    {
        var source = ModelSource.Open(path);
        var config = source.Config;
        models.Add(new ModelInfo(role, path, ModelInfo.SizeOnDisk(path), source.FormatName, config.Architecture,
            config.LayerCount, config.HiddenSize, config.VocabSize, source.Tensors.Sum(t => t.ElementCount)));
        return DeviceOption.Load(source, request.Gpu, request.CacheType, pool);
    }

    /// <summary>Spectre progress bar on a terminal; one plain line per item × method when output is redirected or in CI.</summary>
    private static IReadOnlyList<BenchRecord> RunWithProgress(BenchRunner runner, IReadOnlyList<BenchItem> items, CancellationToken cancellationToken)
    {
        bool interactive = !Console.IsErrorRedirected && !Console.IsOutputRedirected
            && Environment.GetEnvironmentVariable("CI") is null && AnsiConsole.Profile.Capabilities.Interactive;
        if (!interactive)
        {
            return runner.Run(items, p => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{p.Done}/{p.Total}] {(p.WarmUp ? "warm-up" : $"run {p.Run}")} {p.ItemId} {p.Method}: {p.Speed}")), cancellationToken);
        }
        IReadOnlyList<BenchRecord> records = [];
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("warm-up", maxValue: 1);
                records = runner.Run(items, p =>
                {
                    task.MaxValue = p.Total;
                    task.Value = p.Done;
                    string phase = p.WarmUp ? "warm-up" : $"run {p.Run}";
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{phase} {p.ItemId} {p.Method} {p.Speed}"));
                }, cancellationToken);
            });
        return records;
    }

    private static string[] List(string? text) =>
        text?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    /// <summary>The command as typed, quoted where a shell would need it.</summary>
    private static string CommandLine() =>
        string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Prepend("specdec")
            .Select(a => a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_.,/:=+".Contains(c)) ? a : $"'{a.Replace("'", "'\\''")}'"));
}
