namespace SpecDec.Tokenization;

/// <summary>
/// GGUF `tokenizer.ggml.pre` names for byte-level BPE (model "gpt2") and what llama.cpp (src/llama-vocab.cpp)
/// does for each: its split regexes, applied one after the other to each piece, whether a word that is a token
/// as a whole skips the merges (ignore_merges), and whether BOS is added unless the file says otherwise.
/// </summary>
internal static class LlamaCppPreTokenizers
{
    internal sealed record Style(string Kind, string[] Regexes, bool IgnoreMerges = false, bool AddBos = false);

    // llama.cpp spells the case-insensitive contractions out; the scanners take these exact strings.
    private const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    private const string Llama3 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen35 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string CjkHangul = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";

    private static readonly Style Llama3Style = new("llama3-bpe", [Llama3], IgnoreMerges: true, AddBos: true);
    private static readonly Style Gpt2Style = new("gpt2-bpe", [Gpt2]);
    private static readonly Style StarCoderStyle = new("starcoder-bpe", [@"\p{N}", Gpt2]);
    private static readonly Style Qwen2Style = new("qwen2-bpe", [Qwen2]);

    private static readonly Dictionary<string, Style> ByName = new()
    {
        ["default"] = new("default-bpe", [@"[\p{P}\$\+<=>\^~\|]+", Gpt2, @"\p{N}+", "[0-9][0-9][0-9]"]),
        ["llama3"] = Llama3Style, ["llama-v3"] = Llama3Style, ["llama-bpe"] = Llama3Style,
        ["smaug-bpe"] = new("smaug-bpe", [Llama3]),
        ["gpt-2"] = Gpt2Style, ["phi-2"] = Gpt2Style,
        ["mpt"] = new("mpt-bpe", [Gpt2]),
        ["olmo"] = new("olmo-bpe", [Gpt2]),
        ["starcoder"] = StarCoderStyle,
        ["refact"] = StarCoderStyle with { Kind = "refact-bpe" },
        ["command-r"] = StarCoderStyle with { Kind = "command-r-bpe" },
        ["smollm"] = StarCoderStyle with { Kind = "smollm-bpe" },
        ["falcon"] = new("falcon-bpe", [@"[\p{P}\$\+<=>\^~\|`]+", Gpt2, "[0-9][0-9][0-9]"]),
        ["deepseek-llm"] = new("deepseek-llm-bpe",
        [
            "[\r\n]",
            // Escaped: several of these code points are not in NFC, and an editor could silently change them.
            "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+",
            "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
            @"\s+$",
            CjkHangul,
            @"\p{N}+",
        ]),
        ["deepseek-coder"] = new("deepseek-coder-bpe", ["[\r\n]", @"\s?\p{L}+", @"\s?\p{P}+", CjkHangul, @"\p{N}"]),
        ["qwen2"] = Qwen2Style, ["deepseek-r1-qwen"] = Qwen2Style, ["stablelm2"] = Qwen2Style with { Kind = "stablelm2-bpe" },
        ["qwen35"] = new("qwen35-bpe", [Qwen35]),
    };

    public static IEnumerable<string> Names => ByName.Keys;

    public static Style? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The splitters for a style: our scanners where llama.cpp has custom code, else its regex semantics.</summary>
    public static TextSplitter[] Splitters(Style style, string source) =>
    [
        .. style.Regexes.Select(r => r switch
        {
            Gpt2 => new Gpt2Splitter(),
            Llama3 => new Llama3Splitter(maxDigits: 3),
            Qwen2 => new Llama3Splitter(maxDigits: 1),
            _ => (TextSplitter)new LlamaCppRegexSplitter(r, source),
        }),
    ];
}
