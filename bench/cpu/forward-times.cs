// Absolute forward times of a model at a fixed depth, in blocks on demand: the worker half of
// bench/cpu/forward-ab.sh, which runs two builds of this program side by side and alternates their blocks.
// A .NET file-based program; from the repository root:
//
//   dotnet run -c Release bench/cpu/forward-times.cs -- MODEL [--threads 2] [--context 256] [--sizes 1,8,9,8v,9v] [--reps 10] [--cpu]
//
// It loads MODEL, prefills --context tokens, prints "ready" and a hash of the logits' bits of one forward of each size,
// then for each line read from stdin times --reps forwards of each size at that depth (the cache rolled back before
// each) and prints one line per block: the size, then the minimum and the median in milliseconds. A size k is a
// forward of k rows with the last row's logits (what `specdec perf`'s c(k) times); kv is the same with every row's
// logits (what a verification forward computes). With --cpu the times are the process's CPU time instead of wall time:
// on a machine other work keeps busy, descheduling does not inflate them (with several threads they include the
// workers' spinning). EOF ends it.
#:project ../../src/SpecDec/SpecDec.csproj
using System.Diagnostics;
using System.Globalization;
using SpecDec.Backends.Cpu;
using SpecDec.Model;

if (args.Length < 1) { Console.Error.WriteLine("usage: forward-times.cs MODEL [--threads N] [--context N] [--sizes 1,8,9,8v] [--reps N]"); return 1; }
bool cpu = args.Contains("--cpu");
int threads = int.Parse(Option("--threads", "2")), context = int.Parse(Option("--context", "256")), reps = int.Parse(Option("--reps", "10"));
var sizes = Option("--sizes", "1,8,9,8v,9v").Split(',').Select(s => (Name: s, Rows: int.Parse(s.TrimEnd('v')), Every: s.EndsWith('v'))).ToArray();
int maxRows = sizes.Max(s => s.Rows);

using var model = Transformer.Load(ModelSource.Open(args[0]), threads);
ModelConfig c = model.Config;
var rng = new Random(1);
int[] tokens = Enumerable.Range(0, context + maxRows).Select(_ => rng.Next(Math.Min(c.VocabSize, 32000))).ToArray();
int[] positions = Enumerable.Range(0, tokens.Length).ToArray();
int[] rowIndex = Enumerable.Range(0, maxRows).ToArray();
var logits = new float[(long)maxRows * c.VocabSize];
IKvCache cache = model.CreateCache(tokens.Length);
for (int at = 0; at < context; at += ForwardBatch.MaxRows)
{
    int n = Math.Min(ForwardBatch.MaxRows, context - at);
    model.Forward(ForwardBatch.Causal(tokens.AsSpan(at, n), positions.AsSpan(at, n)), cache, logits);
}

double Time((string Name, int Rows, bool Every) s)
{
    cache.Rollback(context);
    var batch = new ForwardBatch
    {
        Tokens = tokens.AsSpan(context, s.Rows), Positions = positions.AsSpan(context, s.Rows),
        LogitRows = s.Every ? rowIndex.AsSpan(0, s.Rows) : default,
    };
    if (cpu)
    {
        double c0 = CpuTime.Ms();
        model.Forward(batch, cache, logits);
        return CpuTime.Ms() - c0;
    }
    long t0 = Stopwatch.GetTimestamp();
    model.Forward(batch, cache, logits);
    return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
}

for (int i = 0; i < 30; i++) foreach (var s in sizes) Time(s); // warm-up: pages faulted in, the JIT's tiers done
// A hash of every size's logits (FNV-1a over their bits): two builds that print the same computed the same bits.
ulong hash = 14695981039346656037;
foreach (var s in sizes)
{
    Time(s);
    foreach (byte b in System.Runtime.InteropServices.MemoryMarshal.AsBytes(logits.AsSpan(0, (s.Every ? s.Rows : 1) * c.VocabSize)))
        hash = (hash ^ b) * 1099511628211;
}
Console.WriteLine($"ready {hash:x16}");
var times = new double[reps];
while (Console.ReadLine() is not null)
{
    var line = new List<string>();
    foreach (var s in sizes)
    {
        for (int r = 0; r < reps; r++) times[r] = Time(s);
        Array.Sort(times);
        line.Add(string.Create(CultureInfo.InvariantCulture, $"{s.Name} {times[0]:F4} {times[reps / 2]:F4}"));
    }
    Console.WriteLine(string.Join(" ", line));
}
return 0;

string Option(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

static class CpuTime
{
    struct Timespec { public long Seconds, Nanoseconds; }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    static extern int ClockGetTime(int clock, out Timespec time);

    /// <summary>The process's CPU time (CLOCK_PROCESS_CPUTIME_ID), milliseconds.</summary>
    public static double Ms()
    {
        ClockGetTime(2, out Timespec t);
        return t.Seconds * 1e3 + t.Nanoseconds / 1e6;
    }
}
