using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using SpecDec.Chat;
using SpecDec.Generation;
using SpecDec.Sampling;

namespace SpecDec.Tests.Server;

/// <summary>
/// The playground in headless Chromium: a user picks the draft model, asks a question, and sees the greedy answer
/// the generator gives on the templated prompt, every token coloured by its origin, and the request's α, τ and
/// counts. With SPECDEC_PLAYGROUND_SCREENSHOT=FILE.png it also writes the screenshot docs/serving.md shows.
/// </summary>
public sealed class PlaygroundBrowserTests(ServedPair pair) : IClassFixture<ServedPair>
{
    const string Question = "What is a compiler?";
    const int MaxTokens = 64;

    [ChromiumFact]
    public async Task A_chat_in_the_browser_shows_each_token_by_origin_and_the_statistics()
    {
        string browserPath = Chromium.Path ?? throw new InvalidOperationException($"CI=true but chromium is missing: .ci/run installs it (apt-get install chromium), or set {Chromium.Variable}");
        await using var server = await pair.StartAsync(socket: true);
        var expected = new Generator(pair.Target).Generate(ChatPrompt.For(pair.Target.Tokenizer)!.Render([new ChatTurn("user", Question)]),
            new GenerationOptions { MaxTokens = MaxTokens, Sampling = SamplingOptions.Greedy, AddSpecialTokens = false });
        // The same request whole: greedy drafting is deterministic, so its statistics are what the page must show.
        using var client = server.Client();
        var whole = JsonDocument.Parse(await (await client.PostAsync("/v1/chat/completions", new StringContent(
            $$"""{"messages": [{"role": "user", "content": "{{Question}}"}], "max_tokens": {{MaxTokens}}, "temperature": 0, "spec": "draft"}""",
            Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync()).RootElement.GetProperty("speculation");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = browserPath, Headless = true });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1000, Height = 560 } });
        var external = new List<string>();
        page.Request += (_, request) => { if (!request.Url.StartsWith(server.BaseAddress.ToString(), StringComparison.Ordinal)) external.Add(request.Url); };

        await page.GotoAsync(server.BaseAddress.ToString());
        await page.WaitForSelectorAsync("body[data-state=idle]");
        await page.SelectOptionAsync("#method", "draft");
        await page.FillAsync("#temperature", "0");
        await page.FillAsync("#max-tokens", MaxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.FillAsync("#prompt", Question);
        await page.PressAsync("#prompt", "Enter");
        await page.WaitForSelectorAsync("body[data-state=done]", new() { Timeout = 60_000 });

        string[] tokens = await page.EvalOnSelectorAllAsync<string[]>(".msg.assistant .tok", "spans => spans.map(s => s.className + '|' + s.textContent)");
        Assert.Equal(expected.Text, string.Concat(tokens.Select(t => t[(t.IndexOf('|') + 1)..])));
        var origins = tokens.Select(t => t[..t.IndexOf('|')]).ToHashSet();
        Assert.Subset(new HashSet<string> { "tok accepted", "tok correction", "tok bonus", "tok plain" }, origins);
        Assert.Contains("tok accepted", origins);
        Assert.Equal("draft", await page.TextContentAsync("#stat-method"));
        Assert.Equal(whole.GetProperty("drafted").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), await page.TextContentAsync("#drafted"));
        Assert.Equal(whole.GetProperty("accepted").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), await page.TextContentAsync("#accepted"));
        Assert.Equal(whole.GetProperty("alpha").GetDouble().ToString("F3", System.Globalization.CultureInfo.InvariantCulture), await page.TextContentAsync("#alpha"));
        Assert.Equal(whole.GetProperty("tau").GetDouble().ToString("F2", System.Globalization.CultureInfo.InvariantCulture), await page.TextContentAsync("#tau"));
        Assert.Matches(@"^\d+\.\d$", await page.TextContentAsync("#tps"));
        Assert.Empty(external);

        if (Environment.GetEnvironmentVariable("SPECDEC_PLAYGROUND_SCREENSHOT") is { Length: > 0 } shot)
            await page.ScreenshotAsync(new() { Path = shot });
    }
}
