using System.Net;
using System.Text;
using System.Text.Json;

namespace SpecDec.Tests.Server;

/// <summary>
/// What the playground reads from the server: the methods on offer in /v1/models, each streamed chunk's tokens
/// with their origins and the running statistics (OpenAI's fields untouched), and the page itself, which
/// loads nothing from elsewhere.
/// </summary>
public sealed class PlaygroundTests(ServedPair pair) : IClassFixture<ServedPair>
{
    [Fact]
    public async Task Models_lists_the_methods_the_loaded_pair_supports()
    {
        await using var server = await pair.StartAsync();
        using var client = server.Client();
        var model = JsonDocument.Parse(await client.GetStringAsync("/v1/models")).RootElement.GetProperty("data")[0];
        string[] methods = model.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!).ToArray();
        // The built-in methods come first (other tests may register more); no heads are loaded, so no eagle or medusa.
        Assert.Equal(["none", "draft", "pld", "lookahead", "rest", "layerskip", "auto"], methods.Take(7));
        Assert.DoesNotContain("eagle", methods);
        Assert.DoesNotContain("medusa", methods);
        Assert.Equal("none", model.GetProperty("default_method").GetString());
    }

    [Fact]
    public async Task Each_streamed_chunk_tells_its_tokens_origins_and_the_statistics_so_far()
    {
        await using var server = await pair.StartAsync();
        using var client = server.Client();
        var response = await client.PostAsync("/v1/chat/completions", new StringContent(
            """{"messages": [{"role": "user", "content": "What is a compiler?"}], "max_tokens": 40, "temperature": 0, "spec": "draft", "stream": true}""",
            Encoding.UTF8, "application/json"));
        var chunks = Sse.Events(await response.Content.ReadAsStringAsync())[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToArray();
        var text = chunks.Where(c => c.TryGetProperty("tokens", out var t) && t.ValueKind == JsonValueKind.Array).ToArray();
        Assert.NotEmpty(text);
        // The first token comes from the prefill and goes out alone, before the draft model reads the prompt and
        // before any round.
        var first = Assert.Single(text[0].GetProperty("tokens").EnumerateArray().ToArray());
        Assert.Equal("plain", first.GetProperty("origin").GetString());
        Assert.Equal(0, text[0].GetProperty("speculation").GetProperty("rounds").GetInt64());
        long rounds = -1;
        var origins = new HashSet<string>();
        foreach (var chunk in text)
        {
            string content = chunk.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()!;
            var tokens = chunk.GetProperty("tokens").EnumerateArray().ToArray();
            Assert.Equal(content, string.Concat(tokens.Select(t => t.GetProperty("text").GetString())));
            origins.UnionWith(tokens.Select(t => t.GetProperty("origin").GetString()!));
            var speculation = chunk.GetProperty("speculation");
            Assert.Equal("draft", speculation.GetProperty("method").GetString());
            Assert.True(speculation.GetProperty("rounds").GetInt64() > rounds, "the statistics of each chunk are the request's so far");
            rounds = speculation.GetProperty("rounds").GetInt64();
        }
        Assert.Subset(new HashSet<string> { "accepted", "correction", "bonus", "plain" }, origins);
        Assert.Contains("accepted", origins);
        var last = chunks[^1];
        Assert.NotNull(last.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.True(last.GetProperty("speculation").GetProperty("accepted").GetInt64() > 0);
    }

    [Fact]
    public async Task The_page_is_self_contained()
    {
        await using var server = await pair.StartAsync(new SpecDec.Server.ServerOptions { ApiKey = "sk-page" });
        using var client = server.Client();
        var response = await client.GetAsync("/"); // the page is public; what it calls needs the key
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("default-src 'none';", response.Headers.GetValues("Content-Security-Policy").Single());
        string page = await response.Content.ReadAsStringAsync();
        Assert.Contains("/v1/chat/completions", page);
        Assert.DoesNotMatch(@"(src|href)\s*=\s*""[^""#]", page); // no script, style, font or image from anywhere
        Assert.DoesNotContain("://", page);
    }
}
