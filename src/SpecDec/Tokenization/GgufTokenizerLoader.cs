namespace SpecDec.Tokenization;

/// <summary>
/// Assembles a <see cref="BpeTokenizer"/> from GGUF `tokenizer.ggml.*` metadata, with llama.cpp's meaning:
/// model "gpt2" is byte-level BPE whose split regex `tokenizer.ggml.pre` names; model "llama" is SentencePiece
/// BPE by token score with a space prefixed to each text piece and byte fallback.
/// </summary>
internal static class GgufTokenizerLoader
{
    private const string Prefix = "tokenizer.ggml.";

    public static BpeTokenizer Load(IReadOnlyDictionary<string, object> metadata, string source)
    {
        var m = new Metadata(metadata, source);
        string model = m.String(Prefix + "model");
        string[] tokens = m.StringArray(Prefix + "tokens");
        if (tokens.Length == 0) throw m.Error(Prefix + "tokens", "is empty");
        var types = TokenTypes(m, tokens.Length);
        // BPE merges and scores range over the model's own tokens; added and control tokens are matched whole.
        var vocab = new TokenVocabulary([.. tokens.Select((t, id) => types[id] is TokenType.Normal or TokenType.Byte ? t : null)]);

        int? Id(string key)
        {
            long? v = m.OptionalInteger(Prefix + key);
            if (v is null) return null;
            return v >= 0 && v < tokens.Length ? (int)v : throw m.Error(Prefix + key, $"is {v}, not an id of the {tokens.Length}-token vocabulary");
        }
        int? bos = Id("bos_token_id"), eos = Id("eos_token_id"), unk = Id("unknown_token_id");
        int? eot = Id("eot_token_id"), eom = Id("eom_token_id");
        Id("padding_token_id");

        IWordEncoder encoder;
        PreTokenizer pre;
        TextNormalizer normalizer;
        string kind;
        bool addBos;
        var strip = DecodeStrip.None;
        switch (model)
        {
            case "gpt2":
                string preName = m.OptionalString(Prefix + "pre") ?? "default";
                (kind, string pattern, bool llama3) = preName switch
                {
                    "llama-bpe" or "llama3" or "llama-v3" or "smaug-bpe" => ("llama3-bpe", TextSplitter.Llama3Pattern, true),
                    "gpt-2" or "default" => ("gpt2-bpe", TextSplitter.Gpt2Pattern, false),
                    "qwen2" => ("qwen2-bpe", TextSplitter.Qwen2Pattern, false),
                    _ => throw m.Error(Prefix + "pre", $"is '{preName}', a pre-tokenizer we do not know (known: llama-bpe, llama3, smaug-bpe, gpt-2, default, qwen2)"),
                };
                var merges = ParseMerges(m, m.StringArray(Prefix + "merges"));
                pre = new PreTokenizer([TextSplitter.ForPattern(pattern, source)], byteLevel: true);
                normalizer = TextNormalizer.None;
                encoder = new BpeMergeModel(vocab, merges, byteLevel: true, byteFallback: false, unk ?? -1, fuseUnk: false,
                    ignoreMerges: llama3, source, Prefix + "merges");
                addBos = llama3;
                break;
            case "llama":
                float[] scores = m.FloatArray(Prefix + "scores");
                if (scores.Length != tokens.Length)
                    throw m.Error(Prefix + "scores", $"has {scores.Length} entries for {tokens.Length} tokens");
                bool spacePrefix = m.OptionalBool(Prefix + "add_space_prefix") ?? true;
                kind = "spm-bpe";
                pre = new PreTokenizer([], byteLevel: false);
                normalizer = spacePrefix ? TextNormalizer.SentencePieceLegacy : TextNormalizer.SpacesOnly;
                encoder = new SpmScoreModel(vocab, scores, unk ?? -1);
                strip = spacePrefix ? DecodeStrip.LeadingSpace : DecodeStrip.None;
                addBos = true;
                break;
            default:
                throw m.Error(Prefix + "model", $"is '{model}'; supported tokenizer models are gpt2 (byte-level BPE) and llama (SentencePiece)");
        }

        addBos = m.OptionalBool(Prefix + "add_bos_token") ?? addBos;
        bool addEos = m.OptionalBool(Prefix + "add_eos_token") ?? false;
        if (addBos && bos is null) throw m.Error(Prefix + "bos_token_id", "is missing but add_bos_token is on");
        if (addEos && eos is null) throw m.Error(Prefix + "eos_token_id", "is missing but add_eos_token is on");

        var stops = new HashSet<int>(EndOfTurnTokens.In(tokens, types));
        foreach (int? id in new[] { eos, eot, eom }) if (id is int s) stops.Add(s);

        return new BpeTokenizer(new TokenizerParts
        {
            Kind = kind,
            Source = source,
            Tokens = tokens,
            Types = types,
            Model = encoder,
            Normalizer = normalizer,
            PreTokenizer = pre,
            AddedTokens = AddedTokens(tokens, types),
            PrefixIds = addBos ? [bos!.Value] : [],
            SuffixIds = addEos ? [eos!.Value] : [],
            BosId = bos,
            EosId = eos,
            StopIds = stops,
            ChatTemplate = m.OptionalString("tokenizer.chat_template"),
            ByteLevelDecode = model == "gpt2",
            Strip = strip,
        });
    }

    private static TokenType[] TokenTypes(Metadata m, int count)
    {
        var types = new TokenType[count];
        if (m.OptionalIntArray(Prefix + "token_type") is not { } raw) { Array.Fill(types, TokenType.Normal); return types; }
        if (raw.Length != count) throw m.Error(Prefix + "token_type", $"has {raw.Length} entries for {count} tokens");
        for (int i = 0; i < count; i++)
            types[i] = raw[i] is >= 1 and <= 6 ? (TokenType)raw[i]
                : throw m.Error($"{Prefix}token_type[{i}]", $"is {raw[i]}, not a token type (1-6)");
        return types;
    }

    /// <summary>Control and unknown tokens are matched as special; user-defined tokens always, as text.</summary>
    private static TokenizerAddedToken[] AddedTokens(string[] tokens, TokenType[] types)
    {
        var added = new List<TokenizerAddedToken>();
        for (int id = 0; id < tokens.Length; id++)
            if (types[id] is TokenType.Control or TokenType.Unknown or TokenType.UserDefined && tokens[id].Length > 0)
                added.Add(new TokenizerAddedToken(id, tokens[id], Special: types[id] != TokenType.UserDefined));
        return [.. added];
    }

    /// <summary>"left right", split at the first space after the first char (as llama.cpp does).</summary>
    private static (string, string)[] ParseMerges(Metadata m, string[] merges)
    {
        var pairs = new (string, string)[merges.Length];
        for (int i = 0; i < merges.Length; i++)
        {
            string s = merges[i];
            int space = s.Length > 1 ? s.IndexOf(' ', 1) : -1;
            if (space < 0 || space == s.Length - 1) throw m.Error($"{Prefix}merges[{i}]", $"is \"{s}\", not two tokens separated by a space");
            pairs[i] = (s[..space], s[(space + 1)..]);
        }
        return pairs;
    }
}
