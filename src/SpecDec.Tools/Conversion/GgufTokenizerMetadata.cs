using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tokenization;

namespace SpecDec.Tools.Conversion;

/// <summary>
/// The tokenizer.* keys llama.cpp's converter writes, from a Hugging Face folder's tokenizer.json,
/// tokenizer_config.json (special tokens, add_bos_token, chat_template), generation_config.json and
/// config.json (fallback bos/eos ids). The token list is padded with "[PADn]" (type unused) up to the
/// embedding rows, as llama.cpp requires one token per row.
/// </summary>
internal static class GgufTokenizerMetadata
{
    /// <param name="modelConfig">config.json's top-level fields (<see cref="HfModelSource.Metadata"/>).</param>
    public static void Add(GgufWriter w, string folder, IReadOnlyDictionary<string, object> modelConfig, int embeddingRows)
    {
        string jsonPath = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(jsonPath)) throw new ModelFormatException(folder, "no tokenizer.json: the GGUF needs the tokenizer");
        TokenizerJsonFile json = TokenizerJsonFile.Load(jsonPath);
        TokenizerConfigFile? config = LoadIfPresent(folder, "tokenizer_config.json", TokenizerConfigFile.Load);
        GenerationConfigFile? generation = LoadIfPresent(folder, "generation_config.json", GenerationConfigFile.Load);
        GgufTokenizerStyle style = GgufTokenizerStyle.Of(json);

        if (json.TokenCount > embeddingRows)
            throw new ModelFormatException(jsonPath, $"has {json.TokenCount} tokens but the model has only {embeddingRows} embedding rows");
        string[] tokens = new string[embeddingRows];
        var types = new int[embeddingRows];
        string?[] byId = json.IdToToken();
        var added = new Dictionary<int, TokenizerAddedToken>();
        foreach (TokenizerAddedToken t in json.AddedTokens.Concat(config?.AddedTokens ?? [])) added.TryAdd(t.Id, t);
        for (int id = 0; id < embeddingRows; id++)
        {
            string? text = id < byId.Length ? byId[id] : null;
            tokens[id] = text ?? $"[PAD{id}]";
            types[id] = (int)TypeOf(id, text, added, json, style);
        }

        w.Add(GgufKeys.TokenizerModel, style.Model);
        if (style.Pre is string pre) w.Add(GgufKeys.TokenizerPre, pre);
        w.Add(GgufKeys.Tokens, tokens);
        if (style.Model == "llama") w.Add(GgufKeys.Scores, SpmScores.FromMerges(tokens, json.Merges));
        w.Add(GgufKeys.TokenType, types);
        if (style.Model == "gpt2") w.Add(GgufKeys.Merges, json.Merges.Select(m => $"{m.Left} {m.Right}").ToArray());

        int? bos = IdOf(config?.BosToken, tokens) ?? generation?.BosTokenId ?? ConfigId(modelConfig, "bos_token_id");
        int? eos = IdOf(config?.EosToken, tokens) ?? (generation?.EosTokenIds.Count > 0 ? generation.EosTokenIds[0] : ConfigId(modelConfig, "eos_token_id"));
        int? unk = IdOf(config?.UnkToken ?? json.UnkToken, tokens);
        int? pad = IdOf(config?.PadToken, tokens);
        foreach ((string key, int? id) in new[] { (GgufKeys.BosTokenId, bos), (GgufKeys.EosTokenId, eos), (GgufKeys.UnknownTokenId, unk), (GgufKeys.PaddingTokenId, pad) })
        {
            if (id is not int value) continue;
            if (value < 0 || value >= embeddingRows) throw new ModelFormatException(folder, $"{key} {value} is not a token id");
            w.Add(key, (uint)value);
        }
        w.Add(GgufKeys.AddBosToken, config?.AddBosToken ?? TemplateStartsWith(json.PostProcessor, config?.BosToken));
        w.Add(GgufKeys.AddEosToken, config?.AddEosToken ?? false);
        if (style.Model == "llama") w.Add(GgufKeys.AddSpacePrefix, style.AddSpacePrefix);
        if (ChatTemplate(folder, config) is string template) w.Add(GgufKeys.ChatTemplate, template);
    }

    /// <summary>llama.cpp's token types: unk 2, special added tokens 3, other added tokens 4, byte-fallback &lt;0xNN&gt; 6, holes 5.</summary>
    private static TokenType TypeOf(int id, string? text, Dictionary<int, TokenizerAddedToken> added, TokenizerJsonFile json, GgufTokenizerStyle style)
    {
        if (text is null) return TokenType.Unused;
        if (text == json.UnkToken) return TokenType.Unknown;
        if (added.TryGetValue(id, out TokenizerAddedToken? a) && a.Content == text) return a.Special ? TokenType.Control : TokenType.UserDefined;
        if (style.Model == "llama" && IsByteToken(text)) return TokenType.Byte;
        return TokenType.Normal;
    }

    private static bool IsByteToken(string t) =>
        t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>' && Uri.IsHexDigit(t[3]) && Uri.IsHexDigit(t[4]);

    private static int? IdOf(string? content, string[] tokens)
    {
        if (content is null) return null;
        int id = Array.IndexOf(tokens, content);
        return id >= 0 ? id : null;
    }

    /// <summary>Whether the post-processor's single-sequence template begins with the BOS token (Llama-style add BOS).</summary>
    private static bool TemplateStartsWith(TokenizerStep? post, string? bos)
    {
        if (post is null || bos is null) return false;
        if (post.Type == "Sequence") return post.Steps.Any(s => TemplateStartsWith(s, bos));
        return post.Type == "TemplateProcessing" && post.SingleTemplate.Count > 0 && post.SingleTemplate[0] == bos;
    }

    /// <summary>tokenizer_config.json's chat_template, or the chat_template.jinja newer transformers save beside it.</summary>
    private static string? ChatTemplate(string folder, TokenizerConfigFile? config)
    {
        if (config?.ChatTemplate is string t) return t;
        string jinja = Path.Combine(folder, "chat_template.jinja");
        return File.Exists(jinja) ? File.ReadAllText(jinja) : null;
    }

    private static int? ConfigId(IReadOnlyDictionary<string, object> modelConfig, string key) =>
        modelConfig.TryGetValue(key, out object? v) && v is long id && id is >= int.MinValue and <= int.MaxValue ? (int)id : null;

    private static T? LoadIfPresent<T>(string folder, string name, Func<string, T> load) where T : class
    {
        string path = Path.Combine(folder, name);
        return File.Exists(path) ? load(path) : null;
    }
}
