using SpecDec.Formats.Gguf;

namespace SpecDec.Tokenization;

/// <summary>
/// Assembles a <see cref="BpeTokenizer"/> from GGUF `tokenizer.ggml.*` metadata, with llama.cpp's meaning:
/// model "gpt2" is byte-level BPE whose split regex `tokenizer.ggml.pre` names; model "llama" is SentencePiece
/// BPE by token score with a space prefixed to each text piece and byte fallback.
/// </summary>
internal static class GgufTokenizerLoader
{
    public static BpeTokenizer Load(IReadOnlyDictionary<string, object> metadata, string source)
    {
        var m = new GgufMetadata(metadata, source);
        string model = m.String(GgufKeys.TokenizerModel);
        string[] tokens = m.StringArray(GgufKeys.Tokens);
        if (tokens.Length == 0) throw m.Error(GgufKeys.Tokens, "is empty");
        var types = TokenTypes(m, tokens.Length);
        // BPE merges and scores range over the model's own tokens; added and control tokens are matched whole.
        var vocab = new TokenVocabulary([.. tokens.Select((t, id) => types[id] is TokenType.Normal or TokenType.Byte ? t : null)]);

        int? Id(string key)
        {
            long? v = m.OptionalInteger(key);
            if (v is null) return null;
            return v >= 0 && v < tokens.Length ? (int)v : throw m.Error(key, $"is {v}, not an id of the {tokens.Length}-token vocabulary");
        }
        int? bos = Id(GgufKeys.BosTokenId), eos = Id(GgufKeys.EosTokenId), unk = Id(GgufKeys.UnknownTokenId);
        int? eot = Id(GgufKeys.EotTokenId), eom = Id(GgufKeys.EomTokenId);
        Id(GgufKeys.PaddingTokenId);

        IWordEncoder encoder;
        PreTokenizer pre;
        TextNormalizer normalizer;
        string kind;
        bool addBos;
        var strip = DecodeStrip.None;
        switch (model)
        {
            case "gpt2":
                string preName = m.OptionalString(GgufKeys.TokenizerPre) ?? "default";
                var style = LlamaCppPreTokenizers.Find(preName)
                    ?? throw m.Error(GgufKeys.TokenizerPre, $"is '{preName}', a pre-tokenizer we do not know (known: {string.Join(", ", LlamaCppPreTokenizers.Names)})");
                kind = style.Kind;
                pre = new PreTokenizer(LlamaCppPreTokenizers.Splitters(style, source), byteLevel: true);
                normalizer = TextNormalizer.None;
                encoder = new BpeMergeModel(vocab, ParseMerges(m, m.StringArray(GgufKeys.Merges)), byteLevel: true, byteFallback: false,
                    unk ?? -1, fuseUnk: false, ignoreMerges: style.IgnoreMerges, source, GgufKeys.Merges);
                addBos = style.AddBos;
                break;
            case "gemma4":
                // SentencePiece-style BPE by merges on raw UTF-8: spaces become ▁, text splits only at newline
                // runs, "<0xNN>" byte tokens stand in for what no token covers; BOS always (llama.cpp forces it).
                kind = "gemma4-bpe";
                pre = new PreTokenizer([new LlamaCppRegexSplitter("[^\n]+|[\n]+", source)], byteLevel: false);
                normalizer = TextNormalizer.SpacesOnly;
                encoder = new BpeMergeModel(vocab, ParseMerges(m, m.StringArray(GgufKeys.Merges)), byteLevel: false, byteFallback: true,
                    unk ?? -1, fuseUnk: false, ignoreMerges: false, source, GgufKeys.Merges, wholeNewlineRuns: true);
                addBos = true;
                break;
            case "llama":
                float[] scores = m.FloatArray(GgufKeys.Scores);
                if (scores.Length != tokens.Length)
                    throw m.Error(GgufKeys.Scores, $"has {scores.Length} entries for {tokens.Length} tokens");
                bool spacePrefix = m.OptionalBool(GgufKeys.AddSpacePrefix) ?? true;
                kind = "spm-bpe";
                pre = new PreTokenizer([], byteLevel: false);
                normalizer = spacePrefix ? TextNormalizer.SentencePieceLegacy : TextNormalizer.SpacesOnly;
                encoder = new SpmScoreModel(vocab, scores, unk ?? -1);
                strip = spacePrefix ? DecodeStrip.LeadingSpace : DecodeStrip.None;
                addBos = true;
                break;
            default:
                throw m.Error(GgufKeys.TokenizerModel, $"is '{model}'; supported tokenizer models are gpt2 (byte-level BPE), llama (SentencePiece) and gemma4 (SentencePiece-style BPE)");
        }

        addBos = model == "gemma4" || (m.OptionalBool(GgufKeys.AddBosToken) ?? addBos);
        bool addEos = m.OptionalBool(GgufKeys.AddEosToken) ?? false;
        if (addBos && bos is null) throw m.Error(GgufKeys.BosTokenId, "is missing but add_bos_token is on");
        if (addEos && eos is null) throw m.Error(GgufKeys.EosTokenId, "is missing but add_eos_token is on");

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
            ChatTemplate = m.OptionalString(GgufKeys.ChatTemplate),
            ByteLevelDecode = model == "gpt2",
            Strip = strip,
        });
    }

    private static TokenType[] TokenTypes(GgufMetadata m, int count)
    {
        var types = new TokenType[count];
        if (m.OptionalIntArray(GgufKeys.TokenType) is not { } raw) { Array.Fill(types, TokenType.Normal); return types; }
        if (raw.Length != count) throw m.Error(GgufKeys.TokenType, $"has {raw.Length} entries for {count} tokens");
        for (int i = 0; i < count; i++)
            types[i] = raw[i] is >= 1 and <= 6 ? (TokenType)raw[i]
                : throw m.Error($"{GgufKeys.TokenType}[{i}]", $"is {raw[i]}, not a token type (1-6)");
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
    private static (string, string)[] ParseMerges(GgufMetadata m, string[] merges)
    {
        var pairs = new (string, string)[merges.Length];
        for (int i = 0; i < merges.Length; i++)
        {
            string s = merges[i];
            int space = s.Length > 1 ? s.IndexOf(' ', 1) : -1;
            if (space < 0 || space == s.Length - 1) throw m.Error($"{GgufKeys.Merges}[{i}]", $"is \"{s}\", not two tokens separated by a space");
            pairs[i] = (s[..space], s[(space + 1)..]);
        }
        return pairs;
    }
}
