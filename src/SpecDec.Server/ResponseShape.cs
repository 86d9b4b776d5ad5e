using System.Text.Json;
using SpecDec.Generation;

namespace SpecDec.Server;

/// <summary>
/// The JSON of OpenAI's responses for one request (chat or text completion), written straight into a
/// <see cref="Utf8JsonWriter"/>: a streamed answer writes one chunk per round, so a chunk must cost no
/// allocation (anonymous objects and reflection serialization cost several per chunk).
/// </summary>
internal sealed record ResponseShape(bool Chat, string Id, long Created, string Model, string Method)
{
    /// <summary>The whole answer of a request that did not stream.</summary>
    public void WriteWhole(Utf8JsonWriter json, string text, string? finish, in StatsSnapshot stats)
    {
        json.WriteStartObject();
        WriteHeader(json, Chat ? "chat.completion" : "text_completion");
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        if (Chat)
        {
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            json.WriteString("content", text);
            json.WriteEndObject();
        }
        else json.WriteString("text", text);
        WriteFinish(json, finish);
        json.WriteEndObject();
        json.WriteEndArray();
        WriteUsage(json, stats);
        WriteSpeculation(json, stats);
        json.WriteEndObject();
    }

    /// <summary>The chat stream's opening chunk: the assistant's role, no text.</summary>
    public void WriteRoleChunk(Utf8JsonWriter json) => WriteChunk(json, "", null, null, role: true, default, withTokens: false);

    /// <summary>
    /// A text chunk: the text, the statistics so far (α and τ live), and SpecDec's extension <c>tokens</c>: each
    /// token that has text, with its text and how it came, for a client that shows the speculation (the playground
    /// colours them).
    /// </summary>
    /// <param name="tokens">The text's tokens, each ending at its <see cref="RoundToken.TextEnd"/> in <paramref name="text"/> and starting where the one before ends.</param>
    public void WriteTextChunk(Utf8JsonWriter json, ReadOnlySpan<char> text, ReadOnlySpan<RoundToken> tokens, in StatsSnapshot stats) =>
        WriteChunk(json, text, null, stats, role: false, tokens, withTokens: true);

    /// <summary>The stream's last chunk before the usage: no text, the finish reason and the final statistics.</summary>
    public void WriteFinishChunk(Utf8JsonWriter json, string finish, in StatsSnapshot stats) =>
        WriteChunk(json, "", finish, stats, role: false, default, withTokens: false);

    private void WriteChunk(Utf8JsonWriter json, ReadOnlySpan<char> text, string? finish, in StatsSnapshot? stats, bool role,
        ReadOnlySpan<RoundToken> tokens, bool withTokens)
    {
        json.WriteStartObject();
        WriteHeader(json, Chat ? "chat.completion.chunk" : "text_completion");
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        if (Chat)
        {
            json.WriteStartObject("delta");
            if (role)
            {
                json.WriteString("role", "assistant");
                json.WriteString("content", "");
            }
            else if (text.Length > 0) json.WriteString("content", text);
            json.WriteEndObject();
        }
        else json.WriteString("text", text);
        WriteFinish(json, finish);
        json.WriteEndObject();
        json.WriteEndArray();
        if (stats is { } s) WriteSpeculation(json, s);
        else json.WriteNull("speculation");
        if (!withTokens) json.WriteNull("tokens");
        else
        {
            json.WriteStartArray("tokens");
            int start = 0;
            foreach (var token in tokens)
            {
                json.WriteStartObject();
                json.WriteString("text", text[start..token.TextEnd]);
                json.WriteString("origin", OriginName(token.Origin));
                json.WriteEndObject();
                start = token.TextEnd;
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }

    /// <summary>The stream's usage chunk (<c>stream_options.include_usage</c>): no choices, the usage.</summary>
    public void WriteUsageChunk(Utf8JsonWriter json, in StatsSnapshot stats)
    {
        json.WriteStartObject();
        WriteHeader(json, Chat ? "chat.completion.chunk" : "text_completion");
        json.WriteStartArray("choices");
        json.WriteEndArray();
        WriteUsage(json, stats);
        json.WriteEndObject();
    }

    private void WriteHeader(Utf8JsonWriter json, string kind)
    {
        json.WriteString("id", Id);
        json.WriteString("object", kind);
        json.WriteNumber("created", Created);
        json.WriteString("model", Model);
    }

    private static void WriteFinish(Utf8JsonWriter json, string? finish)
    {
        if (finish is null) json.WriteNull("finish_reason");
        else json.WriteString("finish_reason", finish);
        json.WriteNull("logprobs");
    }

    private static void WriteUsage(Utf8JsonWriter json, in StatsSnapshot s)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", s.PromptTokens);
        json.WriteNumber("completion_tokens", s.Generated);
        json.WriteNumber("total_tokens", s.PromptTokens + s.Generated);
        json.WriteEndObject();
    }

    /// <summary>SpecDec's extension: how the answer was speculated.</summary>
    private void WriteSpeculation(Utf8JsonWriter json, in StatsSnapshot s)
    {
        json.WriteStartObject("speculation");
        json.WriteString("method", Method);
        json.WriteNumber("drafted", s.Drafted);
        json.WriteNumber("accepted", s.Accepted);
        json.WriteNumber("rounds", s.Rounds);
        json.WriteNumber("generated", s.Generated);
        json.WriteNumber("alpha", Math.Round(s.Alpha, 4));
        json.WriteNumber("tau", Math.Round(s.Tau, 4));
        json.WriteNumber("prefill_ms", Math.Round(s.PrefillMs, 3));
        json.WriteNumber("first_token_ms", Math.Round(s.FirstTokenMs, 3));
        json.WriteNumber("decode_ms", Math.Round(s.DecodeMs, 3));
        json.WriteEndObject();
    }

    private static string OriginName(TokenOrigin origin) => origin switch
    {
        TokenOrigin.Accepted => "accepted",
        TokenOrigin.Correction => "correction",
        TokenOrigin.Bonus => "bonus",
        _ => "plain",
    };
}

/// <summary>
/// A request's statistics at one moment, copied from <see cref="GenerationStats"/> (which the next round changes)
/// so that a chunk sent from another thread reads consistent numbers.
/// </summary>
internal readonly record struct StatsSnapshot(int PromptTokens, int Generated, long Drafted, long Accepted, long Rounds,
    double Alpha, double Tau, double PrefillMs, double FirstTokenMs, double DecodeMs)
{
    public static StatsSnapshot Of(GenerationStats s) =>
        new(s.PromptTokens, s.GeneratedTokens, s.Drafted, s.Accepted, s.Rounds, s.Alpha, s.Tau, s.PrefillMs, s.FirstTokenMs, s.DecodeMs);
}
