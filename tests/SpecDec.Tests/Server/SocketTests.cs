using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using SpecDec.Chat;
using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Server;

namespace SpecDec.Tests.Server;

/// <summary>
/// The server on a real loopback socket: the official OpenAI .NET client and curl as its users, and the
/// scheduling that only shows with real connections (a client that leaves, a full queue, fair turns).
/// </summary>
public sealed class SocketTests(ServedPair pair) : IClassFixture<ServedPair>
{
    static readonly ChatTurn[] Question = [new("user", "What is a compiler?")];

    GenerationResult ExpectedChat(int maxTokens) => new Generator(pair.Target).Generate(ChatPrompt.For(pair.Target.Tokenizer)!.Render(Question),
        new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, AddSpecialTokens = false });

    [Fact]
    public async Task The_OpenAI_client_gets_the_greedy_answer_whole_and_streamed()
    {
        await using var server = await pair.StartAsync(new ServerOptions { ApiKey = "sk-local" }, socket: true);
        var client = new ChatClient("target-q8_0", new ApiKeyCredential("sk-local"),
            new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 32, Temperature = 0 };
        var expected = ExpectedChat(32);
        var expectedFinish = expected.FinishReason == FinishReason.MaxTokens ? ChatFinishReason.Length : ChatFinishReason.Stop;

        ChatCompletion whole = await client.CompleteChatAsync([new UserChatMessage(Question[0].Content)], options);
        Assert.Equal(expected.Text, whole.Content[0].Text);
        Assert.Equal(expectedFinish, whole.FinishReason);
        Assert.Equal(expected.Tokens.Count, whole.Usage.OutputTokenCount);

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(Question[0].Content)], options))
        {
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            finish ??= update.FinishReason;
        }
        Assert.Equal(expected.Text, streamed.ToString());
        Assert.Equal(expectedFinish, finish);

        var wrongKey = new ChatClient("target-q8_0", new ApiKeyCredential("sk-wrong"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => wrongKey.CompleteChatAsync([new UserChatMessage("hi")], options));
        Assert.Equal(401, refused.Status);
    }

    [Fact]
    public async Task Curl_streams_server_sent_events_ending_in_DONE()
    {
        if (!File.Exists("/usr/bin/curl")) Assert.Fail("curl is not installed (.ci/run installs it)");
        await using var server = await pair.StartAsync(socket: true);
        var start = new ProcessStartInfo("curl", ["-sS", "-N", new Uri(server.BaseAddress, "/v1/completions").ToString(), "-H", "Content-Type: application/json",
            "-d", """{"prompt": "The history of the city begins with", "max_tokens": 12, "temperature": 0, "stream": true}"""])
        { RedirectStandardOutput = true };
        using var curl = Process.Start(start)!;
        string output = await curl.StandardOutput.ReadToEndAsync();
        await curl.WaitForExitAsync();
        Assert.Equal(0, curl.ExitCode);
        var events = Sse.Events(output);
        Assert.Equal("[DONE]", events[^1]);
        string text = string.Concat(events[..^1].Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()));
        string expected = new Generator(pair.Target).Generate("The history of the city begins with", new GenerationOptions { MaxTokens = 12, Sampling = SamplingOptions.Greedy }).Text;
        Assert.Equal(expected, text);
    }

    /// <summary>Starts a long streamed completion (its greedy answer runs the full 1500 tokens) and returns once its first text event has arrived.</summary>
    static async Task<(HttpResponseMessage Response, StreamReader Reader)> StartLongStreamAsync(HttpClient client)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"prompt": "The history of the city begins with", "max_tokens": 1500, "temperature": 0, "stream": true}""", Encoding.UTF8, "application/json"),
        };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is string line && !line.StartsWith("data: ", StringComparison.Ordinal)) { }
        return (response, reader);
    }

    static async Task WaitUntil(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) Assert.Fail($"after 10 s: {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_client_that_disconnects_frees_its_slot_at_the_next_round()
    {
        await using var server = await pair.StartAsync(new ServerOptions { Parallel = 1 }, socket: true);
        var scheduler = server.Host.Model!.Scheduler;
        using (var client = server.Client())
        {
            var (response, reader) = await StartLongStreamAsync(client);
            Assert.Equal(1, scheduler.Generating);
            reader.Dispose();
            response.Dispose();
        }
        await WaitUntil(() => scheduler.Admitted == 0, "the abandoned request still holds its slot");
        using var next = server.Client();
        double generated = GeneratedTotal(await next.GetStringAsync("/metrics"));
        Assert.InRange(generated, 1, 1499);
    }

    [Fact]
    public async Task A_client_that_leaves_a_whole_answer_frees_its_slot_at_the_next_round()
    {
        // No event goes out before the answer is whole, so only the connection's receive path can see this client
        // leave: generation must not run inside it (Kestrel runs continuations inline).
        await using var server = await pair.StartAsync(new ServerOptions { Parallel = 1 }, socket: true);
        var scheduler = server.Host.Model!.Scheduler;
        using (var client = server.Client())
        using (var leave = new CancellationTokenSource())
        {
            var answer = client.PostAsync("/v1/completions", new StringContent("""{"prompt": "The history of the city begins with", "max_tokens": 1500, "temperature": 0}""", Encoding.UTF8, "application/json"), leave.Token);
            await WaitUntil(() => scheduler.Generating == 1, "the request did not start");
            leave.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => answer);
        }
        await WaitUntil(() => scheduler.Admitted == 0, "the abandoned request still holds its slot");
        using var next = server.Client();
        double generated = GeneratedTotal(await next.GetStringAsync("/metrics"));
        Assert.InRange(generated, 0, 1499);
    }

    [Fact]
    public async Task A_reader_slower_than_the_model_gets_every_token_once_and_in_order_while_generation_goes_on()
    {
        // Small buffers on both ends stand for a slow network: a few events fill them. The client reads nothing until
        // the whole answer is generated, so the server's sends wait on it, and the rounds generated behind a waiting
        // send must go out later, coalesced into fewer events, without losing, repeating or reordering a token.
        const int tokens = 600;
        await using var server = await pair.StartAsync(new ServerOptions { Parallel = 1 }, socket: true, builder =>
        {
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxResponseBufferSize = 4096);
            builder.Services.Configure<SocketTransportOptions>(sockets => sockets.CreateBoundListenSocket = endpoint =>
            {
                var listener = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
                listener.SendBufferSize = 4096; // accepted connections inherit it
                return listener;
            });
        });
        using var slow = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancel);
                return new NetworkStream(socket, ownsSocket: true);
            },
        }) { BaseAddress = server.BaseAddress };
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent($$"""{"prompt": "The history of the city begins with", "max_tokens": {{tokens}}, "temperature": 0, "stream": true}""", Encoding.UTF8, "application/json"),
        };
        using var response = await slow.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var monitor = server.Client();
        double generated = 0;
        var clock = Stopwatch.StartNew();
        while ((generated = GeneratedTotal(await monitor.GetStringAsync("/metrics"))) < tokens)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) Assert.Fail($"generation stopped at {generated} of {tokens} tokens while the client did not read");
            await Task.Delay(20);
        }

        var events = Sse.Events(await response.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", events[^1]);
        var text = new StringBuilder();
        var tokenTexts = new StringBuilder();
        int textEvents = 0;
        foreach (var data in events[..^1])
        {
            var chunk = JsonDocument.Parse(data).RootElement;
            if (chunk.GetProperty("tokens").ValueKind != JsonValueKind.Array) continue;
            textEvents++;
            text.Append(chunk.GetProperty("choices")[0].GetProperty("text").GetString());
            foreach (var token in chunk.GetProperty("tokens").EnumerateArray()) tokenTexts.Append(token.GetProperty("text").GetString());
        }
        var final = JsonDocument.Parse(events[^2]).RootElement;
        Assert.Equal("length", final.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(tokens, final.GetProperty("speculation").GetProperty("generated").GetInt32());
        string expected = new Generator(pair.Target).Generate("The history of the city begins with", new GenerationOptions { MaxTokens = tokens, Sampling = SamplingOptions.Greedy }).Text;
        Assert.Equal(expected, text.ToString());
        Assert.Equal(expected, tokenTexts.ToString());
        Assert.InRange(textEvents, 2, tokens - 1); // one per round until the buffers filled, then coalesced
    }

    static double GeneratedTotal(string metrics) => double.Parse(
        metrics.Split('\n').Single(l => l.StartsWith("specdec_generated_tokens_total ", StringComparison.Ordinal)).Split(' ')[1],
        System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_full_queue_is_refused_with_429_and_turns_are_fair()
    {
        await using var server = await pair.StartAsync(new ServerOptions { Parallel = 2, QueueLimit = 0 }, socket: true);
        using var client = server.Client();
        using var longClient = server.Client();
        var (response, reader) = await StartLongStreamAsync(longClient);
        var rest = reader.ReadToEndAsync();

        // A short request beside the long one finishes while the long one is still going: they take turns.
        var shortAnswer = await client.PostAsync("/v1/completions", new StringContent("""{"prompt": "static int", "max_tokens": 8, "temperature": 0}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, shortAnswer.StatusCode);
        Assert.False(rest.IsCompleted);

        // Both slots taken, no queue: the third is refused.
        var (response2, reader2) = await StartLongStreamAsync(client);
        var refused = await server.Client().PostAsync("/v1/completions", new StringContent("""{"prompt": "a", "max_tokens": 4}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("queue_full", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.False(rest.IsCompleted);
        foreach (var d in new IDisposable[] { reader, response, reader2, response2 }) d.Dispose();
        await WaitUntil(() => server.Host.Model!.Scheduler.Admitted == 0, "abandoned requests still hold their slots");
    }
}
