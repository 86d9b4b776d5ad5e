using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace SpecDec.ServeBench;

/// <summary>
/// Aggregate throughput of `specdec serve` at several numbers of concurrent streams (each its own prompt, greedy,
/// the same length), every stream generating at once (--parallel is the largest concurrency): tokens generated
/// by all streams over the wall time from the first send to the last event, and each stream's own rate.
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
        string log = args.String("log", Path.Combine(Path.GetTempPath(), "specdec-serve-throughput.log"));
        args.CheckAllRead();

        var clock = Stopwatch.StartNew();
        int most = levels.Max();
        await using var server = await Server.StartAsync(cli, port, ["--parallel", $"{most}", "--queue", "0", "--threads", threads], log);
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) };
        // Prompts of the same category, so that the streams differ but cost about the same.
        string[] prompts = File.ReadLines(Path.Combine("bench", "tasks", "prose_continuation.jsonl")).Take(most)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("prompt").GetString()!).ToArray();
        string Body(int i, string method, int tokens) => JsonSerializer.Serialize(new { prompt = prompts[i], max_tokens = tokens, temperature = 0, stream = true, spec = method });

        Console.WriteLine($"max tokens {maxTokens}, greedy, --parallel {most}, {Environment.ProcessorCount} processors, load average {Machine.LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| method | streams | tokens | wall s | total tok/s | per stream tok/s (median) | first text ms (median) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (string method in methods.Split(','))
        {
            await StreamResult.RunAsync(client, "/v1/completions", Body(0, method, 16)); // first use of the method's code paths
            foreach (int streams in levels)
            {
                long start = Stopwatch.GetTimestamp();
                var results = await Task.WhenAll(Enumerable.Range(0, streams).Select(i => StreamResult.RunAsync(client, "/v1/completions", Body(i, method, maxTokens))));
                double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (results.Any(r => r.Status != System.Net.HttpStatusCode.OK)) throw new InvalidOperationException($"a stream was refused: {string.Join(", ", results.Select(r => (int)r.Status))}");
                long tokens = results.Sum(r => r.Generated);
                double perStream = Machine.Median(results.Select(r => r.DecodeTokensPerSecond));
                double first = Machine.Median(results.Select(r => r.FirstTextMs));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {method} | {streams} | {tokens} | {wall:F2} | {tokens / wall:F1} | {perStream:F1} | {first:F0} |"));
            }
        }
        Console.WriteLine();
        Console.WriteLine($"took {clock.Elapsed.TotalSeconds:F0} s");
        return 0;
    }
}
