namespace SpecDec.Tokenization;

/// <summary>
/// Assembles a <see cref="BpeTokenizer"/> from a Hugging Face folder: tokenizer.json, with tokenizer_config.json
/// (add_bos/eos_token, special token names, chat template) and generation_config.json (eos ids) beside it.
/// </summary>
internal static class TokenizerJsonLoader
{
    public static BpeTokenizer Load(string tokenizerJsonPath)
    {
        var file = TokenizerJsonFile.Load(tokenizerJsonPath);
        string dir = Path.GetDirectoryName(Path.GetFullPath(tokenizerJsonPath))!;
        string configPath = Path.Combine(dir, "tokenizer_config.json");
        string generationPath = Path.Combine(dir, "generation_config.json");
        var config = File.Exists(configPath) ? TokenizerConfigFile.Load(configPath) : null;
        var generation = File.Exists(generationPath) ? GenerationConfigFile.Load(generationPath) : null;
        string src = file.FilePath;

        string[] tokens = [.. file.IdToToken().Select(t => t ?? "")];
        var types = TokenTypes(file, tokens);
        var vocab = new TokenVocabulary(file.Vocab);
        var pre = PreTokenizer.From(file.PreTokenizer, src);
        int unkId = file.UnkToken is { } unk ? vocab.IdOrMinusOne(unk) : -1;
        var model = new BpeMergeModel(vocab, file.Merges, pre.ByteLevel, file.ByteFallback, unkId, file.FuseUnk,
            file.IgnoreMerges, src, "model.merges");
        var (byteLevelDecode, strip) = DecodeRules(file.Decoder, pre.ByteLevel, src);

        int? IdOf(string? text, string field)
        {
            if (text is null) return null;
            foreach (var t in file.AddedTokens) if (t.Content == text) return t.Id;
            if (vocab.TryGetId(text, out int id)) return id;
            throw new ModelFormatException(config!.FilePath, $"field '{field}' is \"{text}\", which is not a token of {src}");
        }

        var (prefix, suffix) = Template(file.PostProcessor, src);
        int? bos = IdOf(config?.BosToken, "bos_token") ?? generation?.BosTokenId;
        int? eos = IdOf(config?.EosToken, "eos_token") ?? (generation?.EosTokenIds.Count > 0 ? generation.EosTokenIds[0] : null);
        prefix = Switch(prefix, bos, config?.AddBosToken, atStart: true);
        suffix = Switch(suffix, eos, config?.AddEosToken, atStart: false);
        bos ??= prefix.Length > 0 ? prefix[0] : null;

        var stops = new HashSet<int>(EndOfTurnTokens.In(tokens, types));
        if (eos is int e) stops.Add(e);
        if (generation != null) stops.UnionWith(generation.EosTokenIds);
        stops.RemoveWhere(id => id < 0 || id >= tokens.Length);

        string templateFile = Path.Combine(dir, "chat_template.jinja");
        return new BpeTokenizer(new TokenizerParts
        {
            Kind = KindOf(file),
            Source = src,
            Tokens = tokens,
            Types = types,
            Model = model,
            Normalizer = TextNormalizer.From(file.Normalizer, src),
            PreTokenizer = pre,
            AddedTokens = file.AddedTokens,
            PrefixIds = prefix,
            SuffixIds = suffix,
            BosId = bos,
            EosId = eos,
            StopIds = stops,
            ChatTemplate = config?.ChatTemplate ?? (File.Exists(templateFile) ? File.ReadAllText(templateFile) : null),
            ByteLevelDecode = byteLevelDecode,
            Strip = strip,
        });
    }

    private static TokenType[] TokenTypes(TokenizerJsonFile file, string[] tokens)
    {
        var types = new TokenType[tokens.Length];
        Array.Fill(types, TokenType.Normal);
        for (int id = 0; id < tokens.Length; id++)
        {
            if (id >= file.Vocab.Count || file.Vocab[id] is null) types[id] = TokenType.Unused;
            else if (file.ByteFallback && BpeTokenizer.ParseByteToken(tokens[id]) != null) types[id] = TokenType.Byte;
        }
        foreach (var t in file.AddedTokens)
            types[t.Id] = !t.Special ? TokenType.UserDefined : t.Content == file.UnkToken ? TokenType.Unknown : TokenType.Control;
        return types;
    }

    /// <summary>What the decoder does, reduced to the two things that differ between supported decoders.</summary>
    private static (bool ByteLevel, DecodeStrip Strip) DecodeRules(TokenizerStep? decoder, bool byteLevelWords, string src)
    {
        var steps = decoder is null ? [] : decoder.Type == "Sequence" ? decoder.Steps : [decoder];
        bool byteLevel = false, replaceMeta = false;
        var strip = DecodeStrip.None;
        foreach (var s in steps)
        {
            switch (s.Type)
            {
                case "ByteLevel": byteLevel = true; break;
                case "Replace" when !s.PatternIsRegex && s.Pattern == "▁" && s.Content == " ": replaceMeta = true; break;
                case "Metaspace" when s.Content == "▁":
                    replaceMeta = true;
                    if (s.PrependScheme != "never") strip = DecodeStrip.MetaspaceFirstToken;
                    break;
                case "ByteFallback" or "Fuse": break;
                case "Strip" when s.Content == " " && s.Start <= 1 && s.Stop == 0:
                    if (s.Start == 1) strip = DecodeStrip.LeadingSpace;
                    break;
                default:
                    throw new ModelFormatException(src, $"decoder {s.Type} (as configured) is not supported");
            }
        }
        if (byteLevel != byteLevelWords)
            throw new ModelFormatException(src, byteLevel
                ? "decoder ByteLevel needs a ByteLevel pre_tokenizer"
                : "a ByteLevel pre_tokenizer needs a ByteLevel decoder");
        if (!byteLevel && !replaceMeta)
            throw new ModelFormatException(src, "decoder must be ByteLevel, Metaspace or Replace(▁ → space); found " +
                (decoder?.Type ?? "none"));
        return (byteLevel, strip);
    }

    /// <summary>The TemplateProcessing single template as ids before and after the text.</summary>
    private static (int[] Prefix, int[] Suffix) Template(TokenizerStep? post, string src)
    {
        var steps = post is null ? [] : post.Type == "Sequence" ? post.Steps : [post];
        foreach (var s in steps)
        {
            if (s.Type == "ByteLevel") continue;
            if (s.Type != "TemplateProcessing")
                throw new ModelFormatException(src, $"post_processor {s.Type} is not supported (TemplateProcessing is)");
            int seq = s.SingleTemplate.ToList().FindIndex(p => p.StartsWith('$'));
            if (seq < 0) throw new ModelFormatException(src, "post_processor TemplateProcessing: the single template has no $A");
            return ([.. s.SingleTemplate.Take(seq).SelectMany(n => s.TemplateSpecialIds[n])],
                    [.. s.SingleTemplate.Skip(seq + 1).SelectMany(n => s.TemplateSpecialIds[n])]);
        }
        return ([], []);
    }

    /// <summary>tokenizer_config's add_bos_token / add_eos_token, when given, override the post-processor.</summary>
    private static int[] Switch(int[] ids, int? token, bool? add, bool atStart)
    {
        if (add is null || token is not int t) return ids;
        if (add == false) return [.. ids.Where(id => id != t)];
        if (ids.Contains(t)) return ids;
        return atStart ? [t, .. ids] : [.. ids, t];
    }

    private static string KindOf(TokenizerJsonFile file)
    {
        var pre = file.PreTokenizer;
        var steps = pre is null ? [] : pre.Type == "Sequence" ? pre.Steps : [pre];
        if (!steps.Any(s => s.Type == "ByteLevel")) return "spm-bpe";
        var patterns = steps.Where(s => s.Type == "Split").Select(s => s.Pattern).ToList();
        if (patterns.Count == 0) return "gpt2-bpe";
        return patterns.Count == 1 ? patterns[0] switch
        {
            TextSplitter.Gpt2Pattern => "gpt2-bpe",
            TextSplitter.Llama3Pattern => "llama3-bpe",
            TextSplitter.Qwen2Pattern => "qwen2-bpe",
            _ => "byte-level-bpe",
        } : "byte-level-bpe";
    }
}
