// What batching the draft model's forwards saves (continuous batching drafts together, BatchedRounds.Draft): one
// draft position of N sequences, each with C cached positions, as N one-row forwards one after another against one
// forward over all N sequences, alternated 400 times; medians and minima. A .NET file-based program; from the
// repository root:
//
//   dotnet run -c Release bench/cpu/draft-forwards.cs [--sequences 16] [--context 660] [--model models/draft-tiny-q8_0.gguf]
//
// (about a minute with the build).
#:project ../../src/SpecDec/SpecDec.csproj
using System.Diagnostics;
using System.Globalization;
using SpecDec.Backends.Cpu;
using SpecDec.Kernels;
using SpecDec.Model;

string root = AppContext.GetData("EntryPointFileDirectoryPath") is string here ? Path.GetFullPath(Path.Combine(here, "..", "..")) : Directory.GetCurrentDirectory();
int n = Option("--sequences", 16), context = Option("--context", 660);
int modelAt = Array.IndexOf(args, "--model");
string file = modelAt >= 0 && modelAt + 1 < args.Length ? args[modelAt + 1] : Path.Combine(root, "models", "draft-tiny-q8_0.gguf");
using var pool = new WorkerPool(0);
using var model = Transformer.Load(ModelSource.Open(file), pool);
int vocab = model.Config.LogitCount;
var caches = new IKvCache[n];
var tokens = new int[ForwardBatch.MaxRows];
var positions = new int[ForwardBatch.MaxRows];
var logits = new float[(long)n * vocab];
for (int s = 0; s < n; s++)
{
    // Each sequence its own context (tokens differ), prefilled in 64-row chunks.
    caches[s] = model.CreateCache(context + 1);
    for (int c = 0; c < context; c += ForwardBatch.MaxRows)
    {
        int rows = Math.Min(ForwardBatch.MaxRows, context - c);
        for (int i = 0; i < rows; i++) (tokens[i], positions[i]) = ((7 * (c + i) + s) % (model.Config.VocabSize - 3) + 3, c + i);
        model.Forward(ForwardBatch.Causal(tokens.AsSpan(0, rows), positions.AsSpan(0, rows)), caches[s], logits);
    }
}
var sequences = new SequenceRows[n];
var rowTokens = new int[n];
var rowPositions = new int[n];
var parents = new int[n];
var logitRows = new int[n];
var alone = new List<double>();
var together = new List<double>();
for (int r = 0; r < 400; r++)
{
    long t0 = Stopwatch.GetTimestamp();
    for (int s = 0; s < n; s++)
    {
        (tokens[0], positions[0]) = (100 + s, context);
        model.Forward(ForwardBatch.Causal(tokens.AsSpan(0, 1), positions.AsSpan(0, 1)), caches[s], logits);
        caches[s].Rollback(context);
    }
    long t1 = Stopwatch.GetTimestamp();
    for (int s = 0; s < n; s++)
    {
        (rowTokens[s], rowPositions[s], parents[s], logitRows[s]) = (100 + s, context, -1, s);
        sequences[s] = new SequenceRows(caches[s], s, 1);
    }
    model.Forward(new ForwardBatch { Tokens = rowTokens, Positions = rowPositions, Parents = parents, LogitRows = logitRows }, sequences, logits);
    foreach (var cache in caches) cache.Rollback(context);
    long t2 = Stopwatch.GetTimestamp();
    alone.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
    together.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{Path.GetFileName(file)}: {n} sequences at {context} cached positions, one row each, {pool.ThreadCount} threads, kernels {Simd.Best}, load average {File.ReadAllText("/proc/loadavg")[..14]}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"one after another: median {Median(alone):F3} ms (min {alone.Min():F3}); together: median {Median(together):F3} ms (min {together.Min():F3}); ratio of medians {Median(together) / Median(alone):F2}"));

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
