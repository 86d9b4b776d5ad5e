using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace SpecDec.ServeBench;

/// <summary>What a client saw of one streamed request: the text, and when the first and the last text arrived.</summary>
internal sealed record StreamResult(HttpStatusCode Status, string Text, double FirstTextMs, double LastTextMs,
    long GeneratedAtFirst, long Generated, JsonElement? Speculation)
{
    /// <summary>Tokens per second between the first and the last text event, as the client received them.</summary>
    public double DecodeTokensPerSecond => LastTextMs > FirstTextMs ? (Generated - GeneratedAtFirst) / ((LastTextMs - FirstTextMs) / 1000) : 0;

    /// <summary>Sends a streaming request and reads its events as they come, timing them from just before the send.</summary>
    public static async Task<StreamResult> RunAsync(HttpClient client, string path, string body, CancellationToken cancel = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        long start = Stopwatch.GetTimestamp();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        if (response.StatusCode != HttpStatusCode.OK) return new(response.StatusCode, "", 0, 0, 0, 0, null);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel));
        var text = new StringBuilder();
        double first = 0, last = 0;
        long generatedAtFirst = 0, generated = 0;
        JsonElement? speculation = null;
        while (await reader.ReadLineAsync(cancel) is string line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]") continue;
            double at = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            var chunk = JsonDocument.Parse(line.AsMemory(6)).RootElement;
            if (chunk.TryGetProperty("speculation", out var s) && s.ValueKind == JsonValueKind.Object)
            {
                speculation = s.Clone();
                generated = s.GetProperty("generated").GetInt64();
            }
            if (!chunk.TryGetProperty("tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array) continue;
            var choice = chunk.GetProperty("choices")[0];
            text.Append(choice.TryGetProperty("text", out var t) ? t.GetString() : choice.GetProperty("delta").GetProperty("content").GetString());
            if (first == 0)
            {
                first = at;
                generatedAtFirst = generated;
            }
            last = at;
        }
        return new(response.StatusCode, text.ToString(), first, last, generatedAtFirst, generated, speculation);
    }
}
