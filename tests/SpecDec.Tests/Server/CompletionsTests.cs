using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SpecDec.Chat;
using SpecDec.Cli.Commands;
using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Server;
using SpecDec.Speculation;

namespace SpecDec.Tests.Server;

/// <summary>
/// /v1/completions and /v1/chat/completions in process: OpenAI's response shapes, greedy answers identical to
/// `specdec generate` (completions) and to the generator on the templated prompt (chat), streaming as
/// Server-Sent Events, and every refusal as OpenAI's error object with its status.
/// </summary>
public sealed class CompletionsTests(ServedPair pair) : IClassFixture<ServedPair>
{
    const string Prompt = "The history of the city begins with";

    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    static async Task<JsonElement> Body(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Greedy_completion_equals_specdec_generate_for_every_method()
    {
        await using var server = await pair.StartAsync();
        using var client = server.Client();
        var (code, expected, _) = CommandInvocation.Run(GenerateCommand.Create(),
            ["generate", "--prompt", Prompt, "--temperature", "0", "--max-tokens", "24", "--threads", "2", "--no-warmup"]);
        Assert.Equal(0, code);
        foreach (string method in new[] { "none", "pld", "draft" })
        {
            var response = await client.PostAsync("/v1/completions",
                Json($$"""{"model": "x", "prompt": "{{Prompt}}", "max_tokens": 24, "temperature": 0, "spec": "{{method}}", "unknown_field": [1, 2]}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await Body(response);
            Assert.Equal("text_completion", body.GetProperty("object").GetString());
            var choice = body.GetProperty("choices")[0];
            Assert.Equal(expected, choice.GetProperty("text").GetString());
            Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
            Assert.Equal(24, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            var speculation = body.GetProperty("speculation");
            Assert.Equal(method, speculation.GetProperty("method").GetString());
            if (method == "draft") Assert.True(speculation.GetProperty("drafted").GetInt64() > 0);
        }
    }

    [Fact]
    public async Task Concurrent_requests_are_verified_together_and_each_answer_is_its_own_alone()
    {
        await using var server = await pair.StartAsync(new ServerOptions { Parallel = 4 });
        using var client = server.Client();
        string[] prompts = ["The history of the city begins with", "static int main", "Once upon a time", "The the the the"];
        string[] methods = ["none", "draft", "pld", "none"];
        var options = methods.Select(m => new GenerationOptions { MaxTokens = 32, Sampling = SamplingOptions.Greedy, Speculation = SpeculationOptions.For(m) }).ToArray();
        var expected = prompts.Select((p, i) => new Generator(pair.Target, pair.Draft).Generate(p, options[i]).Text).ToArray();

        var answers = await Task.WhenAll(prompts.Select(async (p, i) =>
        {
            var response = await client.PostAsync("/v1/completions",
                Json(JsonSerializer.Serialize(new { prompt = p, max_tokens = 32, temperature = 0, spec = methods[i], stream = i % 2 == 1 })));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            string body = await response.Content.ReadAsStringAsync();
            if (i % 2 == 0) return JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("text").GetString();
            return string.Concat(body.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal))
                .Select(l => JsonDocument.Parse(l[6..]).RootElement.GetProperty("choices"))
                .Where(c => c.GetArrayLength() > 0).Select(c => c[0].GetProperty("text").GetString()));
        }));
        Assert.Equal(expected, answers);
        var scheduler = server.Host.Model!.Scheduler;
        Assert.True(scheduler.PassRounds > scheduler.Passes, $"{scheduler.PassRounds} rounds in {scheduler.Passes} passes: no two requests were verified together");
        string metrics = await client.GetStringAsync("/metrics");
        Assert.Contains($"specdec_batched_rounds_total {scheduler.PassRounds}", metrics);
    }

    [Fact]
    public async Task Greedy_chat_equals_the_generator_on_the_templated_prompt_and_streams_the_same_text()
    {
        await using var server = await pair.StartAsync();
        using var client = server.Client();
        var messages = new[] { new ChatTurn("user", "What is a compiler?") };
        string templated = ChatPrompt.For(pair.Target.Tokenizer)!.Render(messages);
        Assert.Equal("<|endoftext|><|user|>\nWhat is a compiler?\n<|assistant|>\n", templated);
        string expected = new Generator(pair.Target).Generate(templated, new GenerationOptions
        {
            MaxTokens = 40, Sampling = SamplingOptions.Greedy, AddSpecialTokens = false,
        }).Text;

        const string request = """{"messages": [{"role": "user", "content": "What is a compiler?"}], "max_tokens": 40, "temperature": 0""";
        var whole = await Body(await client.PostAsync("/v1/chat/completions", Json(request + "}")));
        Assert.Equal("chat.completion", whole.GetProperty("object").GetString());
        var message = whole.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(expected, message.GetProperty("content").GetString());

        var stream = await client.PostAsync("/v1/chat/completions", Json(request + """, "stream": true, "stream_options": {"include_usage": true}}"""));
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType!.MediaType);
        var events = Sse.Events(await stream.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToArray();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        string streamed = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.Equal(expected, streamed);
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(whole.GetProperty("usage").GetProperty("total_tokens").GetInt32(), usage.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.NotNull(chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task A_stop_string_ends_the_answer_before_it()
    {
        await using var server = await pair.StartAsync();
        using var client = server.Client();
        var body = await Body(await client.PostAsync("/v1/completions", Json($$"""{"prompt": "{{Prompt}}", "max_tokens": 24, "temperature": 0}""")));
        string full = body.GetProperty("choices")[0].GetProperty("text").GetString()!;
        string stop = full.Substring(full.Length / 2, 3);
        var stopped = await Body(await client.PostAsync("/v1/completions", Json($$"""{"prompt": "{{Prompt}}", "max_tokens": 24, "temperature": 0, "stop": [{{JsonSerializer.Serialize(stop)}}]}""")));
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], stopped.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("stop", stopped.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task A_seeded_sampled_answer_repeats()
    {
        await using var server = await pair.StartAsync();
        using var client = server.Client();
        const string request = """{"prompt": "Once upon a time", "max_tokens": 16, "temperature": 0.9, "top_p": 0.9, "seed": 42}""";
        var first = await Body(await client.PostAsync("/v1/completions", Json(request)));
        var second = await Body(await client.PostAsync("/v1/completions", Json(request)));
        Assert.Equal(first.GetProperty("choices")[0].GetProperty("text").GetString(), second.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("/v1/completions", "{\"prompt\": ", 400, "invalid_json")]
    [InlineData("/v1/completions", "[1, 2]", 400, "invalid_json")]
    [InlineData("/v1/completions", "{\"prompt\": \"\\ud800\"}", 400, "invalid_json")]
    [InlineData("/v1/completions", "{\"max_tokens\": 4}", 400, null)]
    [InlineData("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 5000}", 400, null)]
    [InlineData("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 0}", 400, null)]
    [InlineData("/v1/completions", "{\"prompt\": \"a\", \"n\": 2}", 400, null)]
    [InlineData("/v1/completions", "{\"prompt\": \"a\", \"temperature\": \"hot\"}", 400, null)]
    [InlineData("/v1/completions", "{\"prompt\": \"a\", \"spec\": \"magic\"}", 400, null)]
    [InlineData("/v1/chat/completions", "{\"messages\": []}", 400, null)]
    [InlineData("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}", 400, null)]
    [InlineData("/v1/nothing", "{}", 404, "not_found")]
    public async Task Bad_requests_get_OpenAI_error_objects(string path, string body, int status, string? code)
    {
        await using var server = await pair.StartAsync();
        using var client = server.Client();
        var response = await client.PostAsync(path, Json(body));
        Assert.Equal(status, (int)response.StatusCode);
        var error = (await Body(response)).GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        if (code is not null) Assert.Equal(code, error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_refused_with_400()
    {
        await using var server = await pair.StartAsync();
        using var client = server.Client();
        string prompt = string.Concat(Enumerable.Repeat("word ", 2100));
        var response = await client.PostAsync("/v1/completions", Json($$"""{"prompt": "{{prompt}}"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("context_length_exceeded", (await Body(response)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_body_over_the_cap_is_refused_with_413()
    {
        await using var server = await pair.StartAsync(new ServerOptions { MaxBodyBytes = 1000 });
        using var client = server.Client();
        var response = await client.PostAsync("/v1/completions", Json($$"""{"prompt": "{{new string('a', 2000)}}"}"""));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("body_too_large", (await Body(response)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_api_key_guards_v1_only()
    {
        await using var server = await pair.StartAsync(new ServerOptions { ApiKey = "sk-test" });
        using var client = server.Client();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        var missing = await client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("invalid_api_key", (await Body(missing)).GetProperty("error").GetProperty("code").GetString());
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/models")).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk-test");
        var models = await Body(await client.GetAsync("/v1/models"));
        Assert.Equal("target-q8_0", models.GetProperty("data")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Health_is_503_until_the_model_is_ready()
    {
        var options = new ServerOptions();
        var host = new ModelHost();
        await using var app = SpecDecServer.Build(options, host, b => Microsoft.AspNetCore.TestHost.WebHostBuilderExtensions.UseTestServer(b.WebHost));
        await app.StartAsync();
        using var client = Microsoft.AspNetCore.TestHost.HostBuilderTestServerExtensions.GetTestClient(app);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync("/v1/completions", Json("{\"prompt\": \"a\"}"))).StatusCode);
        host.Ready(new ServedModel("m", pair.Target, null, SpeculationMethods.None, options));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task Metrics_are_Prometheus_text_with_specdec_names()
    {
        await using var server = await pair.StartAsync();
        using var client = server.Client();
        await client.PostAsync("/v1/completions", Json($$"""{"prompt": "{{Prompt}}", "max_tokens": 24, "temperature": 0, "spec": "draft"}"""));
        string text = await client.GetStringAsync("/metrics");
        Assert.Contains("specdec_generated_tokens_total 24", text);
        Assert.Matches(@"specdec_drafted_tokens_total [1-9]", text);
        Assert.Contains("specdec_accepted_tokens_total", text);
        Assert.Contains("specdec_queue_length 0", text);
        Assert.Contains("specdec_tau_count 1", text);
        Assert.Contains("specdec_request_duration_seconds_bucket{endpoint=\"/v1/completions\"", text);
        Assert.Contains("specdec_requests_total{endpoint=\"/v1/completions\",status=\"200\"} 1", text);
    }
}

/// <summary>Server-Sent Events: the data of each event.</summary>
internal static class Sse
{
    public static string[] Events(string stream) =>
        stream.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => Assert.Single(e.Split('\n'), l => l.StartsWith("data: "))["data: ".Length..]).ToArray();
}
