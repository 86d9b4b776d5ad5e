// Why layer skipping cannot reach 1.2× on the bundled 8-layer target: what a draft through fewer blocks costs and
// how often its greedy token is the full model's. A .NET file-based program; from the repository root:
//
//   dotnet run -c Release bench/cpu/layerskip-probe.cs [model.gguf]     # about a minute on 2 idle cores
//
// Prints (1) the time of a one-row forward through the first E blocks and the head, E = 1..L (fastest of 30,
// after a 100-token context), relative to the full forward; (2) for every early exit E and every skipped block
// range [a, b) (SWIFT's layer skipping, contiguous), the share of positions where the draft's argmax equals
// the full model's, over the greedy continuation (48 tokens) of the first 2 prompts of each benchmark category.
// With per-token acceptance α and relative draft cost d, a chain of k drafts yields at most
// (1 − α^(k+1)) / (1 − α) tokens for k·d + c(k + 1) ≥ k·d + 1 forwards.
#:project ../../src/SpecDec/SpecDec.csproj
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Text.Json;
using SpecDec.Backends.Cpu;
using SpecDec.Model;

string root = AppContext.GetData("EntryPointFileDirectoryPath") is string here ? Path.GetFullPath(Path.Combine(here, "..", "..")) : Directory.GetCurrentDirectory();
string path = args.Length > 0 ? args[0] : Path.Combine(root, "models", "target-q8_0.gguf");
using var model = Transformer.Load(ModelSource.Open(path), threads: 2);
int vocab = model.Config.VocabSize, layers = model.Config.LayerCount, hidden = model.Config.HiddenSize;
var logits = new float[vocab];

// (1) Cost by exit.
var cache = model.CreateCache(256);
var context = Enumerable.Range(0, 100).Select(i => (3 + 7 * i) % vocab).ToArray();
var positions = Enumerable.Range(0, 100).ToArray();
model.Forward(ForwardBatch.Causal(context.AsSpan(0, 64), positions.AsSpan(0, 64)), cache, logits);
model.Forward(ForwardBatch.Causal(context.AsSpan(64), positions.AsSpan(64)), cache, logits);
var cost = new double[layers + 1];
Array.Fill(cost, double.MaxValue);
int[] one = [5], at = [100];
for (int r = 0; r < 30; r++)
    for (int e = 1; e <= layers; e++)
    {
        long start = Stopwatch.GetTimestamp();
        model.Forward(new ForwardBatch { Tokens = one, Positions = at, Layers = e == layers ? 0 : e }, cache, logits);
        cost[e] = Math.Min(cost[e], Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        cache.Rollback(100);
    }
for (int e = 1; e <= layers; e++) Console.WriteLine($"exit after {e} of {layers} blocks: {cost[e]:F3} ms = {cost[e] / cost[layers]:F2} of a forward");

// (2) Agreement of early exits [0, E) and of skipped ranges [a, b) (first and last block kept) with the full model.
var sets = new List<(int A, int B)>();
for (int e = 1; e < layers; e++) sets.Add((e, layers));                       // early exit after E blocks
for (int a = 1; a < layers - 1; a++) for (int b = a + 1; b < layers; b++) sets.Add((a, b));
var agree = new int[sets.Count];
int total = 0;
var residual = new float[hidden];
foreach (string file in Directory.GetFiles(Path.Combine(root, "bench", "tasks"), "*.jsonl").Order())
    foreach (string line in File.ReadLines(file).Take(2))
    {
        var item = JsonDocument.Parse(line).RootElement;
        string text = item.TryGetProperty("prompt", out var p) ? p.GetString()! : item.GetProperty("turns")[0].GetString()!;
        int[] ids = model.Tokenizer.Encode(text);
        if (ids.Length > 400) ids = ids[^400..];
        var c = model.CreateCache(ids.Length + 64);
        var pos = new int[64];
        for (int s = 0; s < ids.Length - 1; s += 64)
        {
            int n = Math.Min(64, ids.Length - 1 - s);
            for (int i = 0; i < n; i++) pos[i] = s + i;
            model.Forward(ForwardBatch.Causal(ids.AsSpan(s, n), pos.AsSpan(0, n)), c, logits);
        }
        var sequence = new List<int>(ids);
        for (int step = 0; step < 48; step++)
        {
            int length = sequence.Count;
            int[] token = [sequence[^1]], position = [length - 1];
            var drafted = new int[sets.Count];
            for (int s = 0; s < sets.Count; s++)
            {
                var (a, b) = sets[s];
                if (b == layers)
                    model.Forward(new ForwardBatch { Tokens = token, Positions = position, Layers = a }, c, logits);
                else
                {
                    model.Forward(new ForwardBatch { Tokens = token, Positions = position, Layers = a, HiddenLayers = [a - 1], Hidden = residual }, c, logits);
                    model.Forward(new ForwardBatch { Embeddings = residual, Positions = position, FirstLayer = b, Layers = layers - b }, c, logits);
                }
                drafted[s] = TensorPrimitives.IndexOfMax(logits);
                c.Rollback(length - 1);
            }
            model.Forward(new ForwardBatch { Tokens = token, Positions = position }, c, logits);
            int full = TensorPrimitives.IndexOfMax(logits);
            for (int s = 0; s < sets.Count; s++) if (drafted[s] == full) agree[s]++;
            total++;
            sequence.Add(full);
        }
    }
Console.WriteLine($"top-1 agreement with the full model over {total} positions:");
foreach (int s in Enumerable.Range(0, sets.Count).OrderBy(s => sets[s].B - sets[s].A).ThenByDescending(s => agree[s]))
{
    var (a, b) = sets[s];
    string what = b == layers ? $"exit after {a} blocks" : $"skip blocks {a}..{b - 1}";
    Console.WriteLine($"  {what,-22} ({b - a} of {layers} skipped): {(double)agree[s] / total:F3}");
}
