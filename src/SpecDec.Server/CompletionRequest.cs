using System.Text.Json;
using SpecDec.Chat;

namespace SpecDec.Server;

/// <summary>
/// The fields of an OpenAI completions or chat completions request that SpecDec acts on; unknown fields are
/// ignored, as OpenAI-compatible servers do. <c>spec</c> (a speculation method name) is SpecDec's own.
/// </summary>
internal sealed record CompletionRequest
{
    public string? Prompt { get; init; }
    public IReadOnlyList<ChatTurn>? Messages { get; init; }
    public bool Stream { get; init; }
    public bool IncludeUsage { get; init; }
    public int? MaxTokens { get; init; }
    public float Temperature { get; init; } = 1;
    public float TopP { get; init; } = 1;
    public int TopK { get; init; }
    public float MinP { get; init; }
    public ulong? Seed { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    public string? Method { get; init; }

    /// <summary>Most stop strings a request may give (OpenAI allows 4).</summary>
    public const int MaxStops = 16;

    /// <summary>Reads a request body; throws an <see cref="ApiException"/> (400) naming the field that is wrong.</summary>
    public static CompletionRequest Parse(ReadOnlySpan<byte> body, bool chat)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message}", code: "invalid_json");
        }
        using (document)
        try
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("the request body must be a JSON object", code: "invalid_json");
            if (Field(root, "n") is { } n && (n.ValueKind != JsonValueKind.Number || !n.TryGetInt32(out int count) || count != 1))
                throw ApiException.BadRequest("only n = 1 is supported", "n");
            int? maxTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens");
            if (maxTokens is < 1) throw ApiException.BadRequest($"max_tokens must be ≥ 1 (got {maxTokens})", "max_tokens");
            return new CompletionRequest
            {
                Prompt = chat ? null : PromptText(root),
                Messages = chat ? ReadMessages(root) : null,
                Stream = Bool(root, "stream") ?? false,
                IncludeUsage = Field(root, "stream_options") is { ValueKind: JsonValueKind.Object } so && (Bool(so, "include_usage", "stream_options.include_usage") ?? false),
                MaxTokens = maxTokens,
                Temperature = Float(root, "temperature", 0, 2) ?? 1,
                TopP = Float(root, "top_p", 0, 1) ?? 1,
                TopK = Int(root, "top_k") ?? 0,
                MinP = Float(root, "min_p", 0, 1) ?? 0,
                Seed = Field(root, "seed") is { } seed
                    ? seed.ValueKind == JsonValueKind.Number && seed.TryGetInt64(out long s) ? unchecked((ulong)s) : throw ApiException.BadRequest("seed must be an integer", "seed")
                    : null,
                Stop = ReadStops(root),
                Method = Field(root, "spec") is { } spec
                    ? spec.ValueKind == JsonValueKind.String ? spec.GetString() : throw ApiException.BadRequest("spec must be a speculation method name", "spec")
                    : null,
            };
        }
        catch (InvalidOperationException e)
        {
            // JSON allows an escaped lone surrogate ("\ud800"), which System.Text.Json refuses to read as a string.
            throw ApiException.BadRequest($"the request body has a string that is not valid text: {e.Message}", code: "invalid_json");
        }
    }

    /// <summary>The field, or null when absent or JSON null (OpenAI treats null as "not given").</summary>
    private static JsonElement? Field(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static bool? Bool(JsonElement obj, string name, string? param = null) => Field(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw ApiException.BadRequest($"{param ?? name} must be true or false", param ?? name),
    };

    private static int? Int(JsonElement obj, string name) => Field(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } v when v.TryGetInt32(out int i) && i >= 0 => i,
        _ => throw ApiException.BadRequest($"{name} must be a non-negative integer", name),
    };

    private static float? Float(JsonElement obj, string name, float min, float max) => Field(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } v when v.GetDouble() is var d && d >= min && d <= max => (float)d,
        _ => throw ApiException.BadRequest($"{name} must be a number in [{min}, {max}]", name),
    };

    private static string PromptText(JsonElement root)
    {
        var prompt = Field(root, "prompt") ?? throw ApiException.BadRequest("prompt is required", "prompt");
        if (prompt.ValueKind == JsonValueKind.String) return prompt.GetString()!;
        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
            return prompt[0].GetString()!;
        throw ApiException.BadRequest("prompt must be a string (or an array of one string)", "prompt");
    }

    private static IReadOnlyList<string> ReadStops(JsonElement root)
    {
        switch (Field(root, "stop"))
        {
            case null: return [];
            case { ValueKind: JsonValueKind.String } one: return NonEmpty([one.GetString()!]);
            case { ValueKind: JsonValueKind.Array } many when many.GetArrayLength() <= MaxStops && many.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String):
                return NonEmpty(many.EnumerateArray().Select(s => s.GetString()!).ToArray());
            default: throw ApiException.BadRequest($"stop must be a string or an array of at most {MaxStops} strings", "stop");
        }

        static string[] NonEmpty(string[] stops) =>
            stops.Any(s => s.Length == 0) ? throw ApiException.BadRequest("stop strings must not be empty", "stop") : stops;
    }

    private static ChatTurn[] ReadMessages(JsonElement root)
    {
        var messages = Field(root, "messages") ?? throw ApiException.BadRequest("messages is required", "messages");
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw ApiException.BadRequest("messages must be a non-empty array", "messages");
        var turns = new ChatTurn[messages.GetArrayLength()];
        int i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            string where = $"messages[{i}]";
            if (message.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"{where} must be an object", where);
            string role = Field(message, "role") is { ValueKind: JsonValueKind.String } r ? r.GetString()! : throw ApiException.BadRequest($"{where}.role must be a string", $"{where}.role");
            turns[i++] = new ChatTurn(role, Content(Field(message, "content"), $"{where}.content"));
        }
        return turns;
    }

    /// <summary>A message's content: a string, or an array of parts of which only text parts are supported.</summary>
    private static string Content(JsonElement? content, string where)
    {
        switch (content)
        {
            case null: return "";
            case { ValueKind: JsonValueKind.String } s: return s.GetString()!;
            case { ValueKind: JsonValueKind.Array } parts:
                var text = new System.Text.StringBuilder();
                foreach (var part in parts.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || Field(part, "type") is not { ValueKind: JsonValueKind.String } type || type.GetString() != "text"
                        || Field(part, "text") is not { ValueKind: JsonValueKind.String } partText)
                        throw ApiException.BadRequest($"{where} parts must be text parts ({{\"type\": \"text\", \"text\": …}}): this model reads text only", where);
                    text.Append(partText.GetString());
                }
                return text.ToString();
            default: throw ApiException.BadRequest($"{where} must be a string or an array of text parts", where);
        }
    }
}
