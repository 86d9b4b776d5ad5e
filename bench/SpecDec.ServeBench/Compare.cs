using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SpecDec.ServeBench;

/// <summary>
/// One stream through `specdec serve` against `specdec generate` on the same prompt, interleaved run by run on
/// the same machine: generate's decode tok/s after its first token (its rounds and the proposer's reading of the
/// prompt, as a client's window from the first text to the last holds them), prefill and first-token times from its --stats (the first token comes
/// from the target's prefill; the prefill adds the proposer's reading of the prompt after it), the server's as its
/// client sees them (decode: tokens between the first and the last text event over that time; first text: from
/// just before the request is sent to the first text event) and as its own statistics tell (engine time only),
/// and whether the greedy texts are identical. One server per --stream-intervals value (default 10 ms, and 0: every
/// round sent at once), each measured in every run; odd runs run generate first, even runs the servers first. The
/// verdict gives the ratio of the medians and the median of the runs' own ratios (each server stream over the
/// generate run beside it, so that the machine's drift between runs cancels).
/// </summary>
internal static partial class Compare
{
    public static async Task<int> RunAsync(Arguments args)
    {
        string cli = args.String("cli");
        int runs = args.Int("runs", 9);
        int maxTokens = args.Int("max-tokens", 128);
        int port = args.Int("port", 8089);
        string[] methods = args.String("methods", "none,draft").Split(',');
        string task = args.String("task", "prose_continuation-0000");
        string threads = args.String("threads", "0");
        string[] intervals = args.String("stream-intervals", "10,0").Split(',');
        string log = args.String("log", Path.Combine(Path.GetTempPath(), "specdec-serve-compare.log"));
        args.CheckAllRead();

        var clock = Stopwatch.StartNew();
        string prompt = Tasks.Prompt(task);
        string promptFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(promptFile, prompt);
        // One server per stream interval, each measured in every run beside generate.
        var servers = new List<(string Interval, Server Server, HttpClient Client)>();
        try
        {
            foreach (string interval in intervals)
            {
                var server = await Server.StartAsync(cli, port + servers.Count, ["--parallel", "1", "--threads", threads, "--stream-interval", interval], log + "." + interval);
                servers.Add((interval, server, new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(5) }));
            }
            string Body(string method, int tokens) => JsonSerializer.Serialize(new { prompt, max_tokens = tokens, temperature = 0, stream = true, spec = method });
            foreach (var (_, _, client) in servers)
                foreach (string method in methods) await StreamResult.RunAsync(client, "/v1/completions", Body(method, 16)); // first use of each method's code paths

            Console.WriteLine($"task {task}, max tokens {maxTokens}, greedy, {runs} runs, threads {(threads == "0" ? "default" : threads)}, {Environment.ProcessorCount} processors, load average {Machine.LoadAverage()}");
            Console.WriteLine();
            Console.WriteLine("| run | method | stream interval ms | tokens | generate decode tok/s (after the first token) | server decode tok/s (client) | server engine decode tok/s | text events | generate prefill ms | generate first token ms | server engine first token ms | server first text ms (client) | same text |");
            Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
            var rows = new List<Row>();
            for (int run = 1; run <= runs; run++)
                foreach (string method in methods)
                {
                    // Odd runs time generate first, even runs the servers first: neither side always follows the other.
                    bool generateFirst = run % 2 == 1;
                    var streams = new List<(string Interval, StreamResult Result)>();
                    if (!generateFirst)
                        foreach (var (interval, _, client) in servers) streams.Add((interval, await StreamResult.RunAsync(client, "/v1/completions", Body(method, maxTokens))));
                    var (text, stats) = await Specdec.GenerateAsync(cli, ["--prompt-file", promptFile, "--max-tokens", $"{maxTokens}", "--temperature", "0", "--stats", "--spec", method, "--threads", threads]);
                    if (generateFirst)
                        foreach (var (interval, _, client) in servers) streams.Add((interval, await StreamResult.RunAsync(client, "/v1/completions", Body(method, maxTokens))));
                    foreach (var (interval, served) in streams)
                    {
                        var s = served.Speculation!.Value;
                        double tokens = Stat(stats, "generated tokens", @"(\d+)"), prefillMs = Stat(stats, "prefill", @"([\d.]+) ms"), firstMs = Stat(stats, "first token", @"([\d.]+) ms");
                        // Like for like with the client's window (first text to last): generate's rounds plus the
                        // proposer's reading of the prompt, which comes after the first token and is in its prefill row.
                        double generateTps = (tokens - 1) / ((Stat(stats, "decode", @"([\d.]+) ms") + prefillMs - firstMs) / 1000);
                        var row = new Row(method, interval, tokens, generateTps,
                            // The engine's own rate, counted as generate's is: engine time after the first token.
                            served.DecodeTokensPerSecond, (s.GetProperty("generated").GetDouble() - 1)
                                / ((s.GetProperty("decode_ms").GetDouble() + s.GetProperty("prefill_ms").GetDouble() - s.GetProperty("first_token_ms").GetDouble()) / 1000), served.Events.Count,
                            prefillMs, firstMs, s.GetProperty("first_token_ms").GetDouble(), served.FirstTextMs, text == served.Text);
                        rows.Add(row);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {run} | {method} | {interval} | {row.Tokens} | {row.GenerateTps:F1} | {row.ServerTps:F1} | {row.EngineTps:F1} | {row.Events} | {row.GeneratePrefillMs:F1} | {row.GenerateFirstMs:F1} | {row.ServerEngineFirstMs:F1} | {row.ServerFirstMs:F1} | {(row.SameText ? "yes" : "NO")} |"));
                    }
                }

            Console.WriteLine();
            Console.WriteLine("Medians, and the issue's targets (server decode within 5 % of generate's; first text within 5 ms of generate's time to the first token, its target's prefill):");
            Console.WriteLine();
            bool allSame = rows.All(r => r.SameText);
            foreach (string method in methods)
                foreach (string interval in intervals)
                {
                    var m = rows.Where(r => r.Method == method && r.Interval == interval).ToArray();
                    double gen = Machine.Median(m.Select(r => r.GenerateTps)), srv = Machine.Median(m.Select(r => r.ServerTps)), engine = Machine.Median(m.Select(r => r.EngineTps));
                    // Each run's server rate over the generate run beside it: the pair shared the machine's state of the moment.
                    var paired = m.Select(r => r.ServerTps / r.GenerateTps).ToArray();
                    double pairedMedian = Machine.Median(paired);
                    double prefill = Machine.Median(m.Select(r => r.GeneratePrefillMs)), first = Machine.Median(m.Select(r => r.GenerateFirstMs)),
                        serverFirst = Machine.Median(m.Select(r => r.ServerEngineFirstMs)), ttft = Machine.Median(m.Select(r => r.ServerFirstMs));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"- {method}, stream interval {interval} ms: decode {srv:F1} tok/s through the server against {gen:F1} for generate ({(srv / gen - 1) * 100:+0.0;-0.0} %, {(srv >= 0.95 * gen ? "met: at most 5 % slower" : "MISSED")}; the server's engine alone {engine:F1}, {(engine / gen - 1) * 100:+0.0;-0.0} %; run by run {(pairedMedian - 1) * 100:+0.0;-0.0} % median, {(paired.Min() - 1) * 100:+0.0;-0.0} to {(paired.Max() - 1) * 100:+0.0;-0.0} %, {(pairedMedian >= 0.95 ? "met" : "MISSED")}); "
                        + $"first text {ttft:F1} ms against generate's first token {first:F1} ms ({ttft - first:+0.0;-0.0} ms, {(ttft - first <= 5 ? "met: at most 5 ms later" : "MISSED")}) "
                        + $"and its whole prefill {prefill:F1} ms ({ttft - prefill:+0.0;-0.0} ms); "
                        + $"the server's engine had its first token at {serverFirst:F1} ms ({serverFirst - first:+0.0;-0.0} ms against generate's; the rest of the first text's time is the HTTP path and tokenizing)"));
                }
            Console.WriteLine($"- greedy text identical to specdec generate in every run: {(allSame ? "yes" : "NO")}");
            Console.WriteLine($"- took {clock.Elapsed.TotalSeconds:F0} s");
            return allSame ? 0 : 2;
        }
        finally
        {
            foreach (var (_, server, client) in servers)
            {
                client.Dispose();
                await server.DisposeAsync();
            }
            File.Delete(promptFile);
        }
    }

    private sealed record Row(string Method, string Interval, double Tokens, double GenerateTps, double ServerTps, double EngineTps, int Events,
        double GeneratePrefillMs, double GenerateFirstMs, double ServerEngineFirstMs, double ServerFirstMs, bool SameText);
    private static double Stat(string stats, string row, string pattern, int group = 1)
    {
        var line = stats.Split('\n').FirstOrDefault(l => l.StartsWith(row + "  ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"specdec generate --stats printed no '{row}' row:\n{stats}");
        return double.Parse(Regex.Match(line[row.Length..], pattern).Groups[group].Value, CultureInfo.InvariantCulture);
    }

}

/// <summary>The benchmark's prompts (bench/tasks/*.jsonl), found by item id from the repository root.</summary>
internal static class Tasks
{
    public static string Prompt(string id)
    {
        string category = id[..id.LastIndexOf('-')];
        string file = Path.Combine("bench", "tasks", category + ".jsonl");
        if (!File.Exists(file)) throw new ArgumentException($"--task {id}: no {file} (run from the repository root)");
        foreach (string line in File.ReadLines(file))
        {
            var item = JsonDocument.Parse(line).RootElement;
            if (item.GetProperty("id").GetString() == id) return item.GetProperty("prompt").GetString()!;
        }
        throw new ArgumentException($"--task {id}: no such item in {file}");
    }
}
