// `auto`'s choices judged without the clock: runs the benchmark's items with ar, draft, pld, rest and auto as
// `specdec bench` does (the same runner, items and turns), but prices every round by a fixed cost model measured on
// this machine idle, so that a change to auto's rules can be judged on a shared, loaded machine (where timed speedups
// swing by ±20 % between runs). rest and auto plan with the same fixed cost curve instead of the one they time.
// A .NET file-based program; from the repository root:
//
//   dotnet run -c Release bench/cpu/auto-modeled.cs [LIMIT] [CATEGORIES]   # LIMIT items per category (default 6), all categories
//
// The model, in one-row target forwards (the idle full benchmark of 2026-12-06, docs/bench/greedy: ar 1.004 ms a
// forward; a verified row past the first 0.137–0.166 of a forward for rest, pld, draft-fixed and eagle's mean
// rows; the draft model's prefill 0.018 ms a row; the target's 0.228 ms a prompt row; retrieval's lookups
// 0.025 ms a round, prompt lookup's 0.003):
//   a round of n rows: 1 + Row·(n − 1); a one-row draft-model forward: DraftStep; a draft row read in a batch
//   (prompt or catch-up): DraftRow; a proposer's lookups: Lookup per round; the prompt: PromptRow per token.
// Prints, per category and overall, each method's modeled speedup over ar (prefill included, the mean over items of
// tokens per modeled unit, as the benchmark's tokens/s), the same without the target's prefill (a draft model's reading
// of the prompt stays in: auto pays it in its rounds), τ, the draft model's forwards, and what auto drafted with.
// Deterministic (the draft and pld methods' length caps get the model's curves too): the same numbers on any load.
// 60 items (the default) take about 3 minutes on the loaded 2-core machine.
#:project ../../src/SpecDec.Tools/SpecDec.Tools.csproj
using System.Runtime.CompilerServices;
using SpecDec.Backends.Cpu;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Speculation;
using SpecDec.Tokenization;
using SpecDec.Tools.Benchmarking;

const double Row = 0.15, DraftStep = 0.09, DraftRow = 0.018, PromptRow = 0.228, TargetMs = 1.0;
var lookupCost = new Dictionary<string, double> { ["pld"] = 0.003, ["rest"] = 0.025, ["auto"] = 0.028 };

string root = AppContext.GetData("EntryPointFileDirectoryPath") is string here ? Path.GetFullPath(Path.Combine(here, "..", "..")) : Directory.GetCurrentDirectory();
int limit = args.Length > 0 ? int.Parse(args[0]) : 6;
string[] categories = args.Length > 1 ? args[1].Split(',') : [];

using var target = Transformer.Load(ModelSource.Open(Path.Combine(root, "models", "target-q8_0.gguf")), threads: 0);
using var draftModel = Transformer.Load(ModelSource.Open(Path.Combine(root, "models", "draft-tiny-q8_0.gguf")), threads: 0);
var draft = new CountingModel(draftModel);
string datastore = Path.Combine(root, "models", "corpus-datastore.sdds");

// The fixed curve: c(n) = 1 + Row·(n − 1), one row TargetMs; a draft token DraftStep, a batched draft row DraftRow.
var swept = new CostCurve(Enumerable.Range(0, ForwardBatch.MaxRows).Select(n => TargetMs * (1 + Row * n)).ToArray());
var curve = new LearnedCostCurve(swept, learns: false);
// The curves the draft and pld methods' length cap would time at their first request (CostCurve.Of), set to the model's.
Access.Curves().AddOrUpdate(target, swept);
Access.Curves().AddOrUpdate(draft, new CostCurve([DraftStep * TargetMs]));
SpeculationMethods.Register(new("rest-modeled", "rest, modeled cost", false, SpeculationOptions.For("rest") with { Method = "rest-modeled" },
    c => new RestProposer(c.Target.Tokenizer, () => curve)));
SpeculationMethods.Register(new("auto-modeled", "auto, modeled cost", false, SpeculationOptions.For("auto") with { Method = "auto-modeled" },
    c => Access.Auto(c, curve, DraftStep * TargetMs, DraftRow * TargetMs)));

var methods = new List<BenchMethod>
{
    new("ar", "plain", SpeculationOptions.None),
    BenchMethods.Parse("draft", true).Single(m => m.Name == "draft"),
    BenchMethods.Parse("pld", true).Single(m => m.Name == "pld"),
    new("rest", "retrieval", SpeculationOptions.For("rest-modeled") with { Datastore = datastore }),
    new("auto", "auto", SpeculationOptions.For("auto-modeled") with { Datastore = datastore }),
};
var generator = new Generator(target, draft);
var tasks = BenchTaskSet.Load(Path.Combine(root, "bench", "tasks"));
var items = tasks.Select(categories.Length > 0 ? categories : tasks.Categories.ToArray(), limit);
var runner = new BenchRunner(generator, methods, new BenchSettings { WarmUp = false });

// Each item × method: modeled units per token (prefill included) and without the target's prefill, τ's parts, auto's choices.
var cells = new Dictionary<(string Category, string Method), Cell>();
Cell At(string category, string method) => cells.TryGetValue((category, method), out var c) ? c : cells[(category, method)] = new Cell();
generator.Forget();
foreach (var item in items)
{
    foreach (var method in methods)
    {
        draft.Reset();
        var record = Access.RunItem(runner, item, method, 1, int.MaxValue);
        (long steps, long rows) = draft.Reset();
        double prefill = 0, decode = steps * DraftStep + rows * DraftRow;
        long tokens = 0, rounds = 0, accepted = 0;
        foreach (var t in record.Turns)
        {
            prefill += PromptRow * (t.PromptTokens - 1);
            decode += t.Rounds * (1 + lookupCost.GetValueOrDefault(method.Name)) + Row * t.Drafted;
            (tokens, rounds, accepted) = (tokens + t.NewTokens, rounds + t.Rounds, accepted + t.Accepted);
        }
        foreach (string category in new[] { item.Category, "overall" })
        {
            var cell = At(category, method.Name);
            cell.Speed += tokens / (prefill + decode);
            cell.DecodeSpeed += tokens / decode;
            cell.Rounds += rounds;
            cell.Steps += steps;
            cell.Rows += rows;
            cell.Produced += accepted + rounds;
            foreach (var t in record.Turns)
                foreach (var (choice, use) in t.Methods ?? new Dictionary<string, MethodUse>())
                    cell.Choices[choice] = cell.Choices.GetValueOrDefault(choice) + use.Rounds;
        }
    }
}

string[] columns = [.. items.Select(i => i.Category).Distinct(), "overall"];
Console.WriteLine($"modeled speedup over ar (prefill included) · decode · τ; {items.Count} items, row {Row}, draft step {DraftStep}, draft row {DraftRow}, prompt row {PromptRow}");
Console.WriteLine("| method | " + string.Join(" | ", columns) + " |");
Console.WriteLine("| --- |" + string.Concat(columns.Select(_ => " ---: |")));
foreach (var method in methods.Skip(1))
{
    Console.Write($"| {method.Name} |");
    foreach (string c in columns)
    {
        var m = At(c, method.Name);
        var b = At(c, "ar");
        Console.Write($" {m.Speed / b.Speed:F2}× · {m.DecodeSpeed / b.DecodeSpeed:F2}× · {(double)m.Produced / m.Rounds:F2} |");
    }
    Console.WriteLine();
}
foreach (var method in methods)
{
    var m = At("overall", method.Name);
    Console.WriteLine($"{method.Name}: {m.Rounds} rounds, draft model {m.Steps} one-row forwards and {m.Rows} batched rows");
}
foreach (string choice in At("overall", "auto").Choices.Keys.Order())
{
    Console.Write($"| auto: {choice} |");
    foreach (string c in columns)
    {
        var m = At(c, "auto");
        Console.Write($" {(double)m.Choices.GetValueOrDefault(choice) / Math.Max(1, m.Choices.Values.Sum()):P0} |");
    }
    Console.WriteLine();
}

sealed class Cell
{
    public double Speed, DecodeSpeed;
    public long Rounds, Produced, Steps, Rows;
    public Dictionary<string, long> Choices = [];
}

static class Access
{
    [UnsafeAccessor(UnsafeAccessorKind.StaticField, Name = "Shared")]
    public static extern ref ConditionalWeakTable<ILanguageModel, CostCurve> Curves(CostCurve? type = null);

    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    public static extern AutoProposer Auto(ProposerContext context, LearnedCostCurve cost, double draftTokenMs, double draftPrefillRowMs);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "RunItem")]
    public static extern BenchRecord RunItem(BenchRunner runner, BenchItem item, BenchMethod method, int run, int maxTurns);
}

/// <summary>A model that counts its forwards: one-row ones (drafting) and the rows of larger ones (reading a prompt).</summary>
sealed class CountingModel(ILanguageModel inner) : ILanguageModel
{
    private long _steps, _rows;
    public ModelConfig Config => inner.Config;
    public ITokenizer Tokenizer => inner.Tokenizer;
    public IKvCache CreateCache(int capacity) => inner.CreateCache(capacity);
    public long CacheBytes(long positions) => inner.CacheBytes(positions);
    public void Forward(in ForwardBatch batch, IKvCache cache, Span<float> logits)
    {
        if (batch.Tokens.Length == 1) _steps++;
        else _rows += batch.Tokens.Length;
        inner.Forward(batch, cache, logits);
    }
    public (long Steps, long Rows) Reset()
    {
        var counts = (_steps, _rows);
        _steps = _rows = 0;
        return counts;
    }
    public void Dispose() { }
}
