using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace SpecDec.ServeBench;

/// <summary>
/// Bounded abuse of a loopback `specdec serve`: waves of N requests sent at once, a seeded mix of valid streams
/// (half of them dropped by the client at a random moment), malformed bodies, prompts longer than the context,
/// bodies over the size cap and max_tokens over the cap. After each wave it waits for every slot to be free and
/// reads the server's memory. Reports crashes (the process gone, 5xx answers, unhandled exceptions in its log),
/// each kind's statuses against the expected ones, and the memory before and after.
/// </summary>
internal static class Load
{
    private enum Kind { Stream, Dropped, Malformed, LongPrompt, HugeBody, OverCap }

    private static readonly Dictionary<Kind, HttpStatusCode[]> Expected = new()
    {
        // A valid request may find the slots and queue full: 429 is a correct answer under this load.
        [Kind.Stream] = [HttpStatusCode.OK, HttpStatusCode.TooManyRequests],
        [Kind.Dropped] = [HttpStatusCode.OK, HttpStatusCode.TooManyRequests],
        [Kind.Malformed] = [HttpStatusCode.BadRequest],
        [Kind.LongPrompt] = [HttpStatusCode.BadRequest],
        [Kind.HugeBody] = [HttpStatusCode.RequestEntityTooLarge],
        [Kind.OverCap] = [HttpStatusCode.BadRequest],
    };

    private static readonly string[] MalformedBodies =
    [
        "{\"prompt\": ", "[1, 2, 3]", "", "null", "{\"prompt\": 42}", "{\"messages\": \"hi\"}", "{\"prompt\": \"a\", \"temperature\": \"hot\"}",
        "{\"prompt\": \"a\", \"max_tokens\": -1}", "{\"prompt\": \"a\", \"n\": 3}", "{\"prompt\": \"a\", \"stop\": [1]}", "{\"messages\": [{\"role\": 1}]}",
        "{\"prompt\": \"a\", \"spec\": \"no-such-method\"}", "{\"prompt\": \"\\ud800\"}", "{{{{", "{\"prompt\": \"a\", \"stream\": \"yes\"}",
    ];

    public static async Task<int> RunAsync(Arguments args)
    {
        string cli = args.String("cli");
        int streams = args.Int("streams", 200);
        int waves = args.Int("waves", 6);
        int port = args.Int("port", 8090);
        int seed = args.Int("seed", 1);
        string log = args.String("log", Path.Combine(Path.GetTempPath(), "specdec-serve-load.log"));
        args.CheckAllRead();

        var clock = Stopwatch.StartNew();
        const int cap = 64;
        await using var server = await Server.StartAsync(cli, port, ["--parallel", "4", "--queue", "32", "--max-tokens-cap", $"{cap}", "--timeout", "120"], log);
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(3) };
        string[] methods = JsonDocument.Parse(await client.GetStringAsync("/v1/models")).RootElement.GetProperty("data")[0].GetProperty("methods")
            .EnumerateArray().Select(m => m.GetString()!).ToArray();

        Console.WriteLine($"{waves} waves of {streams} concurrent requests on 127.0.0.1:{port} (--parallel 4 --queue 32 --max-tokens-cap {cap}), methods {string.Join(", ", methods)}; {Environment.ProcessorCount} processors, load average {Machine.LoadAverage()}");
        var memory = new List<(string When, long Rss, double Heap)> { ("ready", server.ResidentBytes(), await HeapBytes(client)) };
        var counts = new Dictionary<(Kind, string), int>();
        int unexpected = 0, serverErrors = 0;
        var random = new Random(seed);
        for (int wave = 1; wave <= waves; wave++)
        {
            var requests = Enumerable.Range(0, streams).Select(i => Plan(random, i, methods, cap)).ToArray();
            var results = await Task.WhenAll(requests.Select(r => SendAsync(client, r)));
            foreach (var (kind, outcome) in results)
            {
                var key = (kind, outcome);
                counts[key] = counts.GetValueOrDefault(key) + 1;
                if (outcome.StartsWith('5')) serverErrors++;
                if (!Ok(kind, outcome)) unexpected++;
            }
            if (server.Exited) break;
            await IdleAsync(client);
            memory.Add(($"after wave {wave}", server.ResidentBytes(), await HeapBytes(client)));
        }

        int logged = server.Exited ? 0 : await UnhandledInLogAsync(log);
        bool crashed = server.Exited;
        Console.WriteLine();
        Console.WriteLine("| request | sent | outcomes | expected |");
        Console.WriteLine("| --- | ---: | --- | --- |");
        foreach (var kind in Enum.GetValues<Kind>())
        {
            var rows = counts.Where(c => c.Key.Item1 == kind).OrderBy(c => c.Key.Item2).ToArray();
            Console.WriteLine($"| {Describe(kind)} | {rows.Sum(r => r.Value)} | {string.Join(", ", rows.Select(r => $"{r.Key.Item2}: {r.Value}"))} | {string.Join(" or ", Expected[kind].Select(s => (int)s))}{kind switch { Kind.Dropped => ", or dropped by the client", Kind.HugeBody => ", or the connection closed while sending", _ => "" }} |");
        }
        Console.WriteLine();
        Console.WriteLine("| when | resident memory | GC heap |");
        Console.WriteLine("| --- | ---: | ---: |");
        foreach (var (when, rss, heap) in memory)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {when} | {rss / 1048576.0:F1} MiB | {heap / 1048576.0:F1} MiB |"));
        // The first waves grow the working set (each slot's KV caches and each method's proposer, the allocator's
        // pools); a leak would go on growing after that.
        var (half, last) = (memory[(memory.Count + 1) / 2], memory[^1]);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"resident memory {half.When} {half.Rss / 1048576.0:F1} MiB, {last.When} {last.Rss / 1048576.0:F1} MiB ({(last.Rss / (double)half.Rss - 1) * 100:+0.0;-0.0} %)"));
        Console.WriteLine($"crashes: {(crashed ? $"the server exited ({server.ExitCode})" : "0")}; 5xx answers: {serverErrors}; unhandled exceptions logged: {logged}; answers other than expected: {unexpected}; took {clock.Elapsed.TotalSeconds:F0} s (server log: {log})");
        return crashed || serverErrors > 0 || logged > 0 || unexpected > 0 ? 2 : 0;
    }

    private sealed record Request(Kind Kind, string Path, string Body, int DropAfterMs);

    private static Request Plan(Random random, int i, string[] methods, int cap)
    {
        // Half valid streams (half of those dropped), then the four kinds of bad request.
        int slot = i % 20;
        string method = methods[random.Next(methods.Length)];
        bool chat = random.Next(2) == 0;
        double temperature = random.Next(2) == 0 ? 0 : 0.8;
        string Valid(int maxTokens) => chat
            ? JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = $"Question {i}: what is a compiler?" } }, max_tokens = maxTokens, temperature, stream = true, spec = method, seed = i })
            : JsonSerializer.Serialize(new { prompt = $"The history of the city {i} begins with", max_tokens = maxTokens, temperature, stream = true, spec = method, seed = i });
        string path = chat ? "/v1/chat/completions" : "/v1/completions";
        return slot switch
        {
            < 5 => new(Kind.Stream, path, Valid(random.Next(8, cap + 1)), 0),
            < 10 => new(Kind.Dropped, path, Valid(cap), random.Next(20, 2000)),
            < 14 => new(Kind.Malformed, path, MalformedBodies[random.Next(MalformedBodies.Length)], 0),
            < 17 => new(Kind.LongPrompt, path, chat
                ? JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = string.Concat(Enumerable.Repeat("word ", 4000)) } }, stream = true })
                : JsonSerializer.Serialize(new { prompt = string.Concat(Enumerable.Repeat("word ", 4000)), stream = true }), 0),
            < 18 => new(Kind.HugeBody, path, JsonSerializer.Serialize(new { prompt = new string('a', (1 << 20) + 1000) }), 0),
            _ => new(Kind.OverCap, path, Valid(cap + 1 + random.Next(10_000)), 0),
        };
    }

    /// <summary>Sends one request and reads it to the end (or drops it); the outcome is the status, "dropped", or the exception's type.</summary>
    private static async Task<(Kind, string)> SendAsync(HttpClient client, Request r)
    {
        using var drop = new CancellationTokenSource();
        if (r.DropAfterMs > 0) drop.CancelAfter(r.DropAfterMs);
        try
        {
            var result = await StreamResult.RunAsync(client, r.Path, r.Body, drop.Token);
            return (r.Kind, ((int)result.Status).ToString(CultureInfo.InvariantCulture));
        }
        catch (OperationCanceledException) when (drop.IsCancellationRequested)
        {
            return (r.Kind, "dropped");
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // The server answers an oversized body with 413 and closes the connection without reading the rest,
            // so a client still sending it may see the connection close instead of the answer.
            if (r.Kind == Kind.HugeBody) return (r.Kind, "connection closed while sending");
            Console.Error.WriteLine($"{r.Kind}: {e.GetType().Name}: {e.Message} {e.InnerException?.Message}");
            return (r.Kind, e.GetType().Name);
        }
    }

    private static bool Ok(Kind kind, string outcome) =>
        (kind == Kind.Dropped && outcome == "dropped") || (kind == Kind.HugeBody && outcome == "connection closed while sending") || Expected[kind].Any(s => ((int)s).ToString(CultureInfo.InvariantCulture) == outcome);

    private static string Describe(Kind kind) => kind switch
    {
        Kind.Stream => "valid stream read to the end",
        Kind.Dropped => "valid stream the client drops after 20–2000 ms",
        Kind.Malformed => "malformed body (bad JSON, wrong types, out of range)",
        Kind.LongPrompt => "prompt longer than the context (4000 words)",
        Kind.HugeBody => "body over the 1 MiB cap",
        _ => "max_tokens over --max-tokens-cap",
    };

    /// <summary>Waits until no request generates or waits (every dropped one has let go of its slot), at most two minutes.</summary>
    private static async Task IdleAsync(HttpClient client)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            string metrics = await client.GetStringAsync("/metrics");
            if (Metric(metrics, "specdec_active_requests") == 0 && Metric(metrics, "specdec_queue_length") == 0) return;
            await Task.Delay(100);
        }
        throw new InvalidOperationException("requests still hold slots two minutes after the wave: a dropped request did not let go");
    }

    private static async Task<double> HeapBytes(HttpClient client) => Metric(await client.GetStringAsync("/metrics"), "dotnet_total_memory_bytes");

    private static double Metric(string text, string name) =>
        double.Parse(text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..], CultureInfo.InvariantCulture);

    private static async Task<int> UnhandledInLogAsync(string log)
    {
        await Task.Delay(200);
        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string text = await reader.ReadToEndAsync();
        return text.Split('\n').Count(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.Contains("Unhandled exception", StringComparison.Ordinal));
    }
}
