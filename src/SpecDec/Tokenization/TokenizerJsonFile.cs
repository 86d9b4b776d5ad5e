using System.Text.Json;
using SpecDec.Formats;

namespace SpecDec.Tokenization;

/// <summary>
/// A Hugging Face tokenizer.json read into plain data: the BPE model (vocab, merges, byte fallback, unk) and
/// which normalizer / pre-tokenizer / decoder / post-processor it configures. No tokenizing happens here; the
/// tokenizers and the GGUF converter both read this shape. Errors name the file and the field.
/// </summary>
public sealed class TokenizerJsonFile
{
    /// <summary>Ids beyond this are refused: no real vocabulary is near it, and it bounds the id → token array.</summary>
    public const int MaxTokenId = 1 << 24;

    public required string FilePath { get; init; }

    /// <summary>The model's "type"; only "BPE" is supported, so this is always "BPE".</summary>
    public required string ModelType { get; init; }

    /// <summary>model.vocab by id (null where the file leaves an id out).</summary>
    public required IReadOnlyList<string?> Vocab { get; init; }

    /// <summary>model.merges in rank order (rank = index), whichever of the two json forms the file uses.</summary>
    public required IReadOnlyList<(string Left, string Right)> Merges { get; init; }

    public bool ByteFallback { get; init; }
    public bool FuseUnk { get; init; }

    /// <summary>model.ignore_merges (Llama-3): a pre-token found whole in the vocab is emitted without merging.</summary>
    public bool IgnoreMerges { get; init; }

    public string? UnkToken { get; init; }
    public IReadOnlyList<TokenizerAddedToken> AddedTokens { get; init; } = [];
    public TokenizerStep? Normalizer { get; init; }
    public TokenizerStep? PreTokenizer { get; init; }
    public TokenizerStep? Decoder { get; init; }
    public TokenizerStep? PostProcessor { get; init; }

    /// <summary>Highest id in the vocab or the added tokens, plus one.</summary>
    public int TokenCount => Math.Max(Vocab.Count, AddedTokens.Count == 0 ? 0 : AddedTokens.Max(t => t.Id) + 1);

    /// <summary>Every id's text: the model vocab, with added tokens filling (or overriding) their ids.</summary>
    public string?[] IdToToken()
    {
        var tokens = new string?[TokenCount];
        for (int i = 0; i < Vocab.Count; i++) tokens[i] = Vocab[i];
        foreach (var t in AddedTokens) tokens[t.Id] = t.Content;
        return tokens;
    }

    public static TokenizerJsonFile Load(string path)
    {
        using var doc = JsonFields.Parse(path);
        var f = new JsonFields(path);
        var root = f.Object(doc.RootElement, "(root)");
        var model = f.Object(f.Required(root, "model", "model"), "model");
        string type = f.OptionalString(model, "type", "model.type") ?? (f.Optional(model, "merges") is null ? "?" : "BPE");
        if (type != "BPE")
            throw f.Error("model.type", $"is '{type}'; only BPE tokenizers are supported");

        var vocab = ReadVocab(f, f.Object(f.Required(model, "vocab", "model.vocab"), "model.vocab"));
        var added = ReadAddedTokens(f, root);
        return new TokenizerJsonFile
        {
            FilePath = path,
            ModelType = type,
            Vocab = vocab,
            Merges = ReadMerges(f, model),
            ByteFallback = f.OptionalBool(model, "byte_fallback", "model.byte_fallback", false),
            FuseUnk = f.OptionalBool(model, "fuse_unk", "model.fuse_unk", false),
            IgnoreMerges = f.OptionalBool(model, "ignore_merges", "model.ignore_merges", false),
            UnkToken = f.OptionalString(model, "unk_token", "model.unk_token"),
            AddedTokens = added,
            Normalizer = ReadOptionalStep(f, root, "normalizer", "normalizers"),
            PreTokenizer = ReadOptionalStep(f, root, "pre_tokenizer", "pretokenizers"),
            Decoder = ReadOptionalStep(f, root, "decoder", "decoders"),
            PostProcessor = ReadOptionalStep(f, root, "post_processor", "processors"),
        };
    }

    private static string?[] ReadVocab(JsonFields f, JsonElement vocabObj)
    {
        var entries = new List<(string Token, int Id)>();
        int max = -1;
        foreach (var p in vocabObj.EnumerateObject())
        {
            int id = f.Int(p.Value, $"model.vocab[\"{p.Name}\"]");
            if (id < 0 || id >= MaxTokenId) throw f.Error($"model.vocab[\"{p.Name}\"]", $"has id {id} outside 0..{MaxTokenId - 1}");
            entries.Add((p.Name, id));
            max = Math.Max(max, id);
        }
        var vocab = new string?[max + 1];
        foreach (var (token, id) in entries)
        {
            if (vocab[id] is { } other)
                throw f.Error("model.vocab", $"gives id {id} to both \"{other}\" and \"{token}\"");
            vocab[id] = token;
        }
        return vocab;
    }

    /// <summary>Merges as "a b" strings (older files) or ["a", "b"] pairs (tokenizers ≥ 0.20, allows spaces).</summary>
    private static (string, string)[] ReadMerges(JsonFields f, JsonElement model)
    {
        if (f.Optional(model, "merges") is not { } arr) return [];
        f.Array(arr, "model.merges");
        var merges = new (string, string)[arr.GetArrayLength()];
        int i = 0;
        foreach (var m in arr.EnumerateArray())
        {
            string field = $"model.merges[{i}]";
            if (m.ValueKind == JsonValueKind.String)
            {
                string s = m.GetString()!;
                int space = s.IndexOf(' ');
                if (space <= 0 || space == s.Length - 1 || s.IndexOf(' ', space + 1) >= 0)
                    throw f.Error(field, $"is \"{s}\", not two tokens separated by one space");
                merges[i] = (s[..space], s[(space + 1)..]);
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
            {
                merges[i] = (f.String(m[0], field + "[0]"), f.String(m[1], field + "[1]"));
            }
            else
            {
                throw f.Error(field, "must be a \"left right\" string or a [left, right] pair");
            }
            i++;
        }
        return merges;
    }

    private static TokenizerAddedToken[] ReadAddedTokens(JsonFields f, JsonElement root)
    {
        if (f.Optional(root, "added_tokens") is not { } arr) return [];
        f.Array(arr, "added_tokens");
        var tokens = new TokenizerAddedToken[arr.GetArrayLength()];
        int i = 0;
        foreach (var t in arr.EnumerateArray())
        {
            string field = $"added_tokens[{i}]";
            f.Object(t, field);
            int id = f.Int(f.Required(t, "id", field + ".id"), field + ".id");
            if (id < 0 || id >= MaxTokenId) throw f.Error(field + ".id", $"is {id}, outside 0..{MaxTokenId - 1}");
            string content = f.String(f.Required(t, "content", field + ".content"), field + ".content");
            if (content.Length == 0) throw f.Error(field + ".content", "is empty");
            tokens[i++] = new TokenizerAddedToken(
                id, content,
                Special: f.OptionalBool(t, "special", field + ".special", false),
                LStrip: f.OptionalBool(t, "lstrip", field + ".lstrip", false),
                RStrip: f.OptionalBool(t, "rstrip", field + ".rstrip", false),
                Normalized: f.OptionalBool(t, "normalized", field + ".normalized", false),
                SingleWord: f.OptionalBool(t, "single_word", field + ".single_word", false));
        }
        return tokens;
    }

    /// <param name="sequenceKey">Where a "Sequence" of this kind keeps its steps ("normalizers", "decoders"…).</param>
    private static TokenizerStep? ReadOptionalStep(JsonFields f, JsonElement root, string name, string sequenceKey) =>
        f.Optional(root, name) is { } v ? ReadStep(f, v, name, sequenceKey) : null;

    private static TokenizerStep ReadStep(JsonFields f, JsonElement obj, string field, string sequenceKey)
    {
        f.Object(obj, field);
        string type = f.String(f.Required(obj, "type", field + ".type"), field + ".type");
        var step = new TokenizerStep(type);
        switch (type)
        {
            case "Sequence":
                var arr = f.Array(f.Required(obj, sequenceKey, $"{field}.{sequenceKey}"), $"{field}.{sequenceKey}");
                var steps = new List<TokenizerStep>();
                int i = 0;
                foreach (var s in arr.EnumerateArray()) steps.Add(ReadStep(f, s, $"{field}.{sequenceKey}[{i++}]", sequenceKey));
                return step with { Steps = steps };
            case "Split":
            case "Replace":
                var (pattern, isRegex) = ReadPattern(f, f.Required(obj, "pattern", field + ".pattern"), field + ".pattern");
                return step with
                {
                    Pattern = pattern,
                    PatternIsRegex = isRegex,
                    Content = type == "Replace" ? f.String(f.Required(obj, "content", field + ".content"), field + ".content") : null,
                    Behavior = type == "Split" ? f.OptionalString(obj, "behavior", field + ".behavior") ?? "Isolated" : null,
                    Invert = f.OptionalBool(obj, "invert", field + ".invert", false),
                };
            case "Prepend":
                return step with { Content = f.String(f.Required(obj, "prepend", field + ".prepend"), field + ".prepend") };
            case "ByteLevel":
                return step with
                {
                    AddPrefixSpace = f.OptionalBool(obj, "add_prefix_space", field + ".add_prefix_space", false),
                    UseRegex = f.OptionalBool(obj, "use_regex", field + ".use_regex", true),
                };
            case "Metaspace":
                string? scheme = f.OptionalString(obj, "prepend_scheme", field + ".prepend_scheme");
                scheme ??= f.OptionalBool(obj, "add_prefix_space", field + ".add_prefix_space", true) ? "always" : "never";
                if (scheme is not ("always" or "first" or "never"))
                    throw f.Error(field + ".prepend_scheme", $"is '{scheme}', not always, first or never");
                return step with
                {
                    Content = f.OptionalString(obj, "replacement", field + ".replacement") ?? "▁",
                    PrependScheme = scheme,
                    Split = f.OptionalBool(obj, "split", field + ".split", true),
                };
            case "Strip":
                return step with
                {
                    Content = f.OptionalString(obj, "content", field + ".content") ?? " ",
                    Start = f.OptionalInt(obj, "start", field + ".start", 0),
                    Stop = f.OptionalInt(obj, "stop", field + ".stop", 0),
                };
            case "TemplateProcessing":
                return ReadTemplate(f, obj, field, step);
            default:
                return step;
        }
    }

    /// <summary>Split/Replace patterns are {"Regex": "..."} or {"String": "..."}.</summary>
    private static (string, bool) ReadPattern(JsonFields f, JsonElement p, string field)
    {
        if (f.Optional(p, "Regex") is { } r) return (f.String(r, field + ".Regex"), true);
        if (f.Optional(p, "String") is { } s) return (f.String(s, field + ".String"), false);
        throw f.Error(field, "must hold a \"Regex\" or a \"String\"");
    }

    private static TokenizerStep ReadTemplate(JsonFields f, JsonElement obj, string field, TokenizerStep step)
    {
        var single = f.Array(f.Required(obj, "single", field + ".single"), field + ".single");
        var template = new List<string>();
        int i = 0;
        foreach (var piece in single.EnumerateArray())
        {
            string pf = $"{field}.single[{i++}]";
            if (f.Optional(piece, "SpecialToken") is { } st) template.Add(f.String(f.Required(st, "id", pf + ".SpecialToken.id"), pf + ".SpecialToken.id"));
            else if (f.Optional(piece, "Sequence") is { } sq) template.Add("$" + f.String(f.Required(sq, "id", pf + ".Sequence.id"), pf + ".Sequence.id"));
            else throw f.Error(pf, "must be a SpecialToken or a Sequence");
        }
        var specials = new Dictionary<string, int[]>();
        if (f.Optional(obj, "special_tokens") is { } sp)
        {
            foreach (var p in f.Object(sp, field + ".special_tokens").EnumerateObject())
            {
                string pf = $"{field}.special_tokens[\"{p.Name}\"].ids";
                specials[p.Name] = f.IntOrIntList(f.Array(f.Required(p.Value, "ids", pf), pf), pf);
            }
        }
        foreach (string name in template)
            if (!name.StartsWith('$') && !specials.ContainsKey(name))
                throw f.Error(field + ".special_tokens", $"has no ids for '{name}' used by the single template");
        return step with { SingleTemplate = template, TemplateSpecialIds = specials };
    }
}
