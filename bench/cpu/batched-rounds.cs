// Continuous batching in the engine, without HTTP: the decode throughput of N sessions stepped one after another
// (each round its own verification forward) against the same sessions stepped together (BatchedRounds: one forward
// for all their rounds), N = 1, 4, 16, for plain decoding and the draft model. A .NET file-based program; from the
// repository root:
//
//   dotnet run -c Release bench/cpu/batched-rounds.cs [--repeats 3] [--max-tokens 128] [--threads 0] [--cache-type f32|f16]
//       [--methods none,draft] [--sessions 1,4,16]
//
// (about 2 minutes on 2 idle cores, with the build). Every session gets its own prompt (bench/tasks
// prose_continuation), greedy; prefills are not timed. Each repeat runs both ways back to back; the table shows
// the median tok/s of all sessions' generated tokens over the rounds' wall time, and checks that both ways
// generated the same tokens.
#:project ../../src/SpecDec/SpecDec.csproj
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SpecDec.Backends.Cpu;
using SpecDec.Generation;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;

string root = AppContext.GetData("EntryPointFileDirectoryPath") is string here ? Path.GetFullPath(Path.Combine(here, "..", "..")) : Directory.GetCurrentDirectory();
int repeats = Option("--repeats", 3), maxTokens = Option("--max-tokens", 128), threads = Option("--threads", 0);
int cacheAt = Array.IndexOf(args, "--cache-type");
var cacheType = cacheAt >= 0 && cacheAt + 1 < args.Length && args[cacheAt + 1] == "f16" ? KvCacheType.F16 : KvCacheType.F32;
string[] methods = List("--methods", "none,draft");
int[] counts = List("--sessions", "1,4,16").Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
using var pool = new WorkerPool(threads);
using var target = Transformer.Load(ModelSource.Open(Path.Combine(root, "models", "target-q8_0.gguf")), pool);
target.CacheType = cacheType; // attention reads each sequence's own cache: f16 halves its bytes
using var draft = Transformer.Load(ModelSource.Open(Path.Combine(root, "models", "draft-tiny-q8_0.gguf")), pool);
int[][] prompts = File.ReadLines(Path.Combine(root, "bench", "tasks", "prose_continuation.jsonl")).Take(counts.Max())
    .Select(l => target.Tokenizer.Encode(JsonDocument.Parse(l).RootElement.GetProperty("prompt").GetString()!, addSpecial: true, parseSpecial: true)).ToArray();
var generators = prompts.Select(_ => new Generator(target, draft)).ToArray();
var batched = new BatchedRounds(target);

Console.WriteLine($"{maxTokens} greedy tokens per session, {repeats} repeats, {pool.ThreadCount} threads, kernels {Simd.Best}, {cacheType} cache, load average {File.ReadAllText("/proc/loadavg")[..14]}");
Console.WriteLine();
Console.WriteLine("| method | sessions | one after another tok/s | together tok/s | together / one after another | rounds per session | same tokens |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
foreach (string method in methods)
{
    var options = new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, Speculation = SpeculationOptions.For(method) };
    generators[0].WarmUp(options);
    Run(Math.Min(4, prompts.Length), together: true, options); // first use of the batched path
    foreach (int n in counts)
    {
        var alone = new List<double>();
        var joint = new List<double>();
        bool same = true;
        double rounds = 0;
        for (int r = 0; r < repeats; r++)
        {
            var (a, tokensA, _) = Run(n, together: false, options);
            var (b, tokensB, roundsB) = Run(n, together: true, options);
            alone.Add(a);
            joint.Add(b);
            same &= tokensA.Zip(tokensB).All(p => p.First.SequenceEqual(p.Second));
            rounds = roundsB;
        }
        double ma = Median(alone), mb = Median(joint);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {method} | {n} | {ma:F1} | {mb:F1} | {mb / ma:F2} | {rounds:F1} | {(same ? "yes" : "NO")} |"));
    }
}

// Prefills n sessions (untimed), then runs their rounds to the end, one after another or together: tok/s of the rounds.
(double TokensPerSecond, int[][] Tokens, double Rounds) Run(int n, bool together, GenerationOptions options)
{
    var sessions = Enumerable.Range(0, n).Select(i => generators[i].Begin(prompts[i], options)).ToArray();
    try
    {
        foreach (var s in sessions) s.Prefill();
        var texts = new string[n];
        long start = Stopwatch.GetTimestamp();
        while (sessions.Any(s => s.FinishReason is null))
        {
            if (together) batched.Step(sessions, texts);
            else
                foreach (var s in sessions) s.Step();
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return (sessions.Sum(s => s.Stats.GeneratedTokens) / seconds, sessions.Select(s => s.Generated.ToArray()).ToArray(), sessions.Average(s => s.Stats.Rounds));
    }
    finally
    {
        foreach (var s in sessions) s.Dispose();
    }
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

string[] List(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return (i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback).Split(',');
}

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
