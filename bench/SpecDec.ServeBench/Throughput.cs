using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace SpecDec.ServeBench;

/// <summary>
/// Aggregate throughput of `specdec serve` at several numbers of concurrent streams (each its own prompt, greedy,
/// the same length), every stream generating at once (--parallel is the largest concurrency): tokens generated
/// by all streams over the wall time from the first send to the last event (the prompts' prefills included); the
/// decode rate of all streams together once every one has its first text (prefills done); and each stream's own rate. Two
/// servers, one batching the streams' rounds into one forward (the default) and one with --no-batching, are
/// measured level by level, --repeats times each (the first server to go alternates from repeat to repeat, so
/// neither always runs first after a warm-up or after the other), and each stream's text is checked to be the
/// same from both. The summary gives each server's median per level and the median of the repeats' on/off ratios.
/// </summary>
internal static class Throughput
{
    public static async Task<int> RunAsync(Arguments args)
    {
        string cli = args.String("cli");
        int[] levels = args.String("concurrency", "1,4,16").Split(',').Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        int maxTokens = args.Int("max-tokens", 128);
        int port = args.Int("port", 8091);
        string methods = args.String("methods", "none,draft");
        string threads = args.String("threads", "0");
        string[] modes = args.String("batching", "on,off").Split(',');
        int repeats = args.Int("repeats", 3);
        string log = args.String("log", Path.Combine(Path.GetTempPath(), "specdec-serve-throughput.log"));
        args.CheckAllRead();

        var clock = Stopwatch.StartNew();
        int most = levels.Max();
        var servers = new Dictionary<string, (Server Server, HttpClient Client)>();
        foreach (string mode in modes)
        {
            if (mode is not ("on" or "off")) throw new ArgumentException($"--batching takes on and off (got '{mode}')");
            string[] extra = mode == "off" ? ["--no-batching"] : [];
            var server = await Server.StartAsync(cli, port + servers.Count, ["--parallel", $"{most}", "--queue", "0", "--threads", threads, .. extra], log + "." + mode);
            servers[mode] = (server, new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) });
        }
        try
        {
            // Prompts of the same category, so that the streams differ but cost about the same.
            string[] prompts = File.ReadLines(Path.Combine("bench", "tasks", "prose_continuation.jsonl")).Take(most)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("prompt").GetString()!).ToArray();
            string Body(int i, string method, int tokens) => JsonSerializer.Serialize(new { prompt = prompts[i], max_tokens = tokens, temperature = 0, stream = true, spec = method });

            Console.WriteLine($"max tokens {maxTokens}, greedy, --parallel {most}, {repeats} repeats, {Environment.ProcessorCount} processors, load average {Machine.LoadAverage()}");
            Console.WriteLine();
            Console.WriteLine("| method | streams | repeat | batching | tokens | wall s | total tok/s | decode tok/s (all streams) | per stream tok/s (median) | first text ms (median) | rounds per forward |");
            Console.WriteLine("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            bool same = true;
            var decodes = new Dictionary<(string Method, int Streams, string Mode), List<double>>();
            foreach (string method in methods.Split(','))
            {
                foreach (var (_, client) in servers.Values) await StreamResult.RunAsync(client, "/v1/completions", Body(0, method, 16)); // first use of the method's code paths
                foreach (var (streams, repeat) in levels.SelectMany(l => Enumerable.Range(1, repeats).Select(r => (l, r))))
                {
                    var texts = new Dictionary<string, string[]>();
                    foreach (string mode in repeat % 2 == 1 ? modes : modes.Reverse())
                    {
                        var (server, client) = servers[mode];
                        var (passes, rounds) = await BatchCountersAsync(client);
                        long start = Stopwatch.GetTimestamp();
                        var results = await Task.WhenAll(Enumerable.Range(0, streams).Select(i => StreamResult.RunAsync(client, "/v1/completions", Body(i, method, maxTokens))));
                        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
                        if (results.Any(r => r.Status != System.Net.HttpStatusCode.OK)) throw new InvalidOperationException($"a stream was refused: {string.Join(", ", results.Select(r => (int)r.Status))}");
                        var (passes2, rounds2) = await BatchCountersAsync(client);
                        texts[mode] = results.Select(r => r.Text).ToArray();
                        long tokens = results.Sum(r => r.Generated);
                        double perStream = Machine.Median(results.Select(r => r.DecodeTokensPerSecond));
                        double first = Machine.Median(results.Select(r => r.FirstTextMs));
                        // Once every stream has sent its first text, all are decoding (each prefill done): tokens
                        // from then to the last event over that time, the batch's decode rate without the prefills.
                        double allIn = results.Max(r => r.FirstTextMs), end = results.Max(r => r.LastTextMs);
                        double decode = end > allIn ? results.Sum(r => r.Generated - r.GeneratedBy(allIn)) / ((end - allIn) / 1000) : 0;
                        double perForward = passes2 > passes ? (double)(rounds2 - rounds) / (passes2 - passes) : 0;
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {method} | {streams} | {repeat} | {mode} | {tokens} | {wall:F2} | {tokens / wall:F1} | {decode:F1} | {perStream:F1} | {first:F0} | {perForward:F2} |"));
                        if (!decodes.TryGetValue((method, streams, mode), out var list)) decodes[(method, streams, mode)] = list = [];
                        list.Add(decode);
                    }
                    if (texts.Count == 2 && !texts["on"].SequenceEqual(texts["off"]))
                    {
                        same = false;
                        Console.WriteLine($"| {method} | {streams} | {repeat} | TEXTS DIFFER between batching on and off | | | | | | | |");
                    }
                }
            }
            Console.WriteLine();
            Console.WriteLine($"| method | streams | decode tok/s, batching {modes[0]} (median) | {modes[^1]} (median) | {modes[0]} / {modes[^1]} (median of the repeats' ratios) | ratios |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | --- |");
            foreach (var ((method, streams, mode), on) in decodes.Where(d => d.Key.Mode == modes[0]))
            {
                string other = modes.Length == 2 ? modes[1] : mode;
                var off = decodes[(method, streams, other)];
                var ratios = on.Zip(off, (a, b) => b > 0 ? a / b : 0).ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {method} | {streams} | {Machine.Median(on):F1} | {Machine.Median(off):F1} | {Machine.Median(ratios):F2} | {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))} |"));
            }
            Console.WriteLine();
            if (modes.Length == 2) Console.WriteLine($"every stream's text the same with and without batching: {(same ? "yes" : "NO")}");
            Console.WriteLine($"took {clock.Elapsed.TotalSeconds:F0} s");
            return same ? 0 : 2;
        }
        finally
        {
            foreach (var (server, client) in servers.Values)
            {
                client.Dispose();
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>The server's specdec_batches_total and specdec_batched_rounds_total (older servers have neither: 0).</summary>
    private static async Task<(long Passes, long Rounds)> BatchCountersAsync(HttpClient client)
    {
        string metrics = await client.GetStringAsync("/metrics");
        long Read(string name) => metrics.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(l => (long)double.Parse(l[(name.Length + 1)..], CultureInfo.InvariantCulture)).FirstOrDefault();
        return (Read("specdec_batches_total"), Read("specdec_batched_rounds_total"));
    }
}
