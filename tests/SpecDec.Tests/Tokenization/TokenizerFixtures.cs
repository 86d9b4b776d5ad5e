using System.Text.Json;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>
/// The reference tokenizers and their recorded results (tests/fixtures/tokenizers, made by
/// tests/fixtures/make_fixtures.py with Hugging Face tokenizers), and the GGUF metadata llama.cpp's converter
/// would write for each of them.
/// </summary>
internal static class TokenizerFixtures
{
    public static readonly string[] Names = ["gpt2-bpe", "llama3-bpe", "spm-bpe"];

    public static string Dir(string name) => Path.Combine(Root, name);

    public static string TokenizerJson(string name) => Path.Combine(Dir(name), "tokenizer.json");

    /// <summary>tests/fixtures/tokenizers, found by walking up from the test assembly to the folder with SpecDec.slnx.</summary>
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (!File.Exists(Path.Combine(dir.FullName, "SpecDec.slnx"))) continue;
                string root = Path.Combine(dir.FullName, "tests", "fixtures", "tokenizers");
                Assert.True(File.Exists(Path.Combine(root, "cases.json")), $"tokenizer fixtures missing: {root}/cases.json");
                return root;
            }
            throw new InvalidOperationException("no SpecDec.slnx above " + AppContext.BaseDirectory);
        }
    }

    public sealed record Result(int[][] Ids, int[][] IdsNoSpecial, string[] Decoded, string[] DecodedSkipSpecial);

    public sealed record Cases(string[] Strings, Dictionary<string, Result> Results);

    public static Cases Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "cases.json")));
        var root = doc.RootElement;
        string[] strings = [.. root.GetProperty("strings").EnumerateArray().Select(s => s.GetString()!)];
        var results = new Dictionary<string, Result>();
        foreach (var r in root.GetProperty("results").EnumerateObject())
        {
            int[][] Ids(string key) => [.. r.Value.GetProperty(key).EnumerateArray().Select(a => a.EnumerateArray().Select(i => i.GetInt32()).ToArray())];
            string[] Texts(string key) => [.. r.Value.GetProperty(key).EnumerateArray().Select(s => s.GetString()!)];
            results[r.Name] = new Result(Ids("ids"), Ids("ids_no_special"), Texts("decoded"), Texts("decoded_skip_special"));
        }
        return new Cases(strings, results);
    }

    public static ITokenizer Build(string name, string source) => source switch
    {
        "json" => TokenizerFactory.FromTokenizerJson(TokenizerJson(name)),
        "gguf" => TokenizerFactory.FromGgufMetadata(GgufMetadata(name), name + ".gguf"),
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };

    /// <summary>
    /// The `tokenizer.ggml.*` keys llama.cpp's convert_hf_to_gguf.py writes for the fixture, with GGUF's value
    /// types (uint32 ids, int32 token types). Byte-level tokenizers become model "gpt2" with their merges and the
    /// `pre` name of their split regex. The SentencePiece one becomes model "llama" with scores, which the
    /// converter copies from the SentencePiece model: SentencePiece BPE scores each piece by when its merge was
    /// learnt, so we assume score = −(rank of the merge that makes the token), and for tokens no merge makes
    /// (characters, bytes, specials) a score below all of those (they are never merge candidates anyway).
    /// </summary>
    public static Dictionary<string, object> GgufMetadata(string name)
    {
        var file = TokenizerJsonFile.Load(TokenizerJson(name));
        var config = TokenizerConfigFile.Load(Path.Combine(Dir(name), "tokenizer_config.json"));
        string[] tokens = [.. file.IdToToken().Select(t => t ?? throw new InvalidDataException("fixture vocab has a gap"))];
        var ids = tokens.Select((t, id) => (t, id)).GroupBy(p => p.t).ToDictionary(g => g.Key, g => g.First().id);
        bool spm = name == "spm-bpe";

        var types = new int[tokens.Length];
        for (int id = 0; id < tokens.Length; id++)
            types[id] = spm && file.ByteFallback && BpeTokenizer.ParseByteToken(tokens[id]) != null ? 6 : 1;
        foreach (var t in file.AddedTokens) types[t.Id] = !t.Special ? 4 : t.Content == file.UnkToken ? 2 : 3;

        var template = file.PostProcessor is { } p
            ? (p.Type == "Sequence" ? p.Steps : [p]).FirstOrDefault(s => s.Type == "TemplateProcessing") : null;
        bool addBos = template != null && !template.SingleTemplate[0].StartsWith('$');

        var md = new Dictionary<string, object>
        {
            ["tokenizer.ggml.model"] = spm ? "llama" : "gpt2",
            ["tokenizer.ggml.tokens"] = tokens,
            ["tokenizer.ggml.token_type"] = types,
            ["tokenizer.ggml.bos_token_id"] = (uint)ids[config.BosToken!],
            ["tokenizer.ggml.eos_token_id"] = (uint)ids[config.EosToken!],
            ["tokenizer.ggml.add_bos_token"] = addBos,
            ["tokenizer.ggml.add_eos_token"] = false,
        };
        if (config.ChatTemplate != null) md["tokenizer.chat_template"] = config.ChatTemplate;
        if (spm)
        {
            var scores = new float[tokens.Length];
            Array.Fill(scores, -(file.Merges.Count + 1));
            for (int rank = file.Merges.Count - 1; rank >= 0; rank--)
                scores[ids[file.Merges[rank].Left + file.Merges[rank].Right]] = -rank;
            md["tokenizer.ggml.scores"] = scores;
            md["tokenizer.ggml.unknown_token_id"] = (uint)ids[file.UnkToken!];
            md["tokenizer.ggml.add_space_prefix"] = true;
        }
        else
        {
            md["tokenizer.ggml.merges"] = file.Merges.Select(m => $"{m.Left} {m.Right}").ToArray();
            md["tokenizer.ggml.pre"] = name == "llama3-bpe" ? "llama-bpe" : "gpt-2";
        }
        return md;
    }
}
