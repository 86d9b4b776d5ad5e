using System.Text.Json;
using SpecDec.Formats;

namespace SpecDec.Tokenization;

/// <summary>
/// tokenizer_config.json as plain data: the add-BOS/EOS switches, the special token names (given either as
/// strings or as {"content": ...} objects), the chat template and added_tokens_decoder. Errors name the file
/// and the field.
/// </summary>
public sealed class TokenizerConfigFile
{
    public required string FilePath { get; init; }

    /// <summary>null when the file does not say (then tokenizer.json's post-processor decides).</summary>
    public bool? AddBosToken { get; init; }
    public bool? AddEosToken { get; init; }

    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public string? UnkToken { get; init; }
    public string? PadToken { get; init; }

    /// <summary>The Jinja chat template; of a named list, the one called "default" (else the first).</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>added_tokens_decoder: tokens by id, with their special flag.</summary>
    public IReadOnlyList<TokenizerAddedToken> AddedTokens { get; init; } = [];

    public static TokenizerConfigFile Load(string path)
    {
        using var doc = JsonFields.Parse(path);
        var f = new JsonFields(path);
        var root = f.Object(doc.RootElement, "(root)");
        return new TokenizerConfigFile
        {
            FilePath = path,
            AddBosToken = f.Optional(root, "add_bos_token") is { } ab ? f.Bool(ab, "add_bos_token") : null,
            AddEosToken = f.Optional(root, "add_eos_token") is { } ae ? f.Bool(ae, "add_eos_token") : null,
            BosToken = f.OptionalTokenContent(root, "bos_token", "bos_token"),
            EosToken = f.OptionalTokenContent(root, "eos_token", "eos_token"),
            UnkToken = f.OptionalTokenContent(root, "unk_token", "unk_token"),
            PadToken = f.OptionalTokenContent(root, "pad_token", "pad_token"),
            ChatTemplate = ReadChatTemplate(f, root),
            AddedTokens = ReadAddedTokensDecoder(f, root),
        };
    }

    private static string? ReadChatTemplate(JsonFields f, JsonElement root)
    {
        if (f.Optional(root, "chat_template") is not { } t) return null;
        if (t.ValueKind == JsonValueKind.String) return t.GetString();
        f.Array(t, "chat_template");
        string? first = null;
        int i = 0;
        foreach (var named in t.EnumerateArray())
        {
            string field = $"chat_template[{i++}]";
            string name = f.String(f.Required(named, "name", field + ".name"), field + ".name");
            string template = f.String(f.Required(named, "template", field + ".template"), field + ".template");
            if (name == "default") return template;
            first ??= template;
        }
        return first;
    }

    private static TokenizerAddedToken[] ReadAddedTokensDecoder(JsonFields f, JsonElement root)
    {
        if (f.Optional(root, "added_tokens_decoder") is not { } dec) return [];
        var tokens = new List<TokenizerAddedToken>();
        foreach (var p in f.Object(dec, "added_tokens_decoder").EnumerateObject())
        {
            string field = $"added_tokens_decoder[\"{p.Name}\"]";
            if (!int.TryParse(p.Name, out int id) || id < 0 || id >= TokenizerJsonFile.MaxTokenId)
                throw f.Error(field, "is not keyed by a token id");
            tokens.Add(new TokenizerAddedToken(
                id, f.String(f.Required(p.Value, "content", field + ".content"), field + ".content"),
                Special: f.OptionalBool(p.Value, "special", field + ".special", false),
                LStrip: f.OptionalBool(p.Value, "lstrip", field + ".lstrip", false),
                RStrip: f.OptionalBool(p.Value, "rstrip", field + ".rstrip", false),
                Normalized: f.OptionalBool(p.Value, "normalized", field + ".normalized", false),
                SingleWord: f.OptionalBool(p.Value, "single_word", field + ".single_word", false)));
        }
        return [.. tokens];
    }
}
