using System.Text;
using System.Text.Json;
using SpecDec.Formats.Gguf;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>
/// llama.cpp's tokenizer test data (models/ggml-vocab-NAME.gguf with .inp/.out, read by its
/// tests/test-tokenizer-0.cpp: add_special and parse_special off), and the small stand-ins kept in
/// tests/fixtures/tokenizers/llamacpp: each vocabulary cut down to the tokens its expected ids use plus every
/// token and merge that can build them, which tokenizes the test strings exactly as the full vocabulary does.
/// </summary>
internal static class LlamaCppVocab
{
    /// <summary>The decoder-LLM vocabularies of llama.cpp's suite (bert-bge, an encoder, is left out).</summary>
    public static readonly string[] Names =
    [
        "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2", "llama-bpe", "llama-spm", "mpt",
        "phi-3", "qwen2", "qwen35", "refact", "starcoder",
    ];

    public sealed record Case(string Text, int[] Ids);

    public static string FixtureDir => Path.Combine(Path.GetDirectoryName(TokenizerFixtures.Root)!, "tokenizers", "llamacpp");

    /// <summary>test-tokenizer-0's reading: inputs separated by "\n__ggml_vocab_test__\n", one line of ids each; later duplicates win.</summary>
    public static List<Case> ReadCases(string inpPath, string outPath)
    {
        string raw = File.ReadAllText(inpPath, Encoding.UTF8);
        var inputs = new List<string>();
        const string sep = "\n__ggml_vocab_test__\n";
        for (int pos = 0; pos < raw.Length;)
        {
            int next = raw.IndexOf(sep, pos, StringComparison.Ordinal);
            if (next < 0) { inputs.Add(raw[pos..]); break; }
            inputs.Add(raw[pos..next]);
            pos = next + sep.Length;
        }
        string[] outputs = File.ReadAllLines(outPath);
        Assert.Equal(inputs.Count, outputs.Length);
        var cases = new Dictionary<string, int[]>();
        for (int i = 0; i < inputs.Count; i++)
            cases[inputs[i]] = [.. outputs[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];
        return [.. cases.Select(c => new Case(c.Key, c.Value))];
    }

    public static (IReadOnlyDictionary<string, object> Metadata, List<Case> Cases) LoadFixture(string name)
    {
        using var gguf = GgufFile.Open(Path.Combine(FixtureDir, name + ".gguf"));
        var metadata = gguf.Metadata.ToDictionary();
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir, name + ".json")));
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => new Case(c.GetProperty("text").GetString()!, [.. c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32())]))
            .ToList();
        return (metadata, cases);
    }

    /// <summary>
    /// Writes NAME.gguf (vocabulary only, the `tokenizer.ggml.*` keys cut down) and NAME.json (the cases with
    /// their ids renumbered) into <paramref name="dir"/>.
    /// </summary>
    public static void WriteFixture(string name, IReadOnlyDictionary<string, object> full, List<Case> cases, string dir)
    {
        string[] tokens = (string[])full[GgufKeys.Tokens];
        int[] types = full.TryGetValue(GgufKeys.TokenType, out var t) ? (int[])t : [.. tokens.Select(_ => 1)];
        string[] merges = full.TryGetValue(GgufKeys.Merges, out var m) ? (string[])m : [];
        string model = (string)full[GgufKeys.TokenizerModel];

        var keep = new SortedSet<int>(cases.SelectMany(c => c.Ids));
        foreach (string key in new[] { GgufKeys.BosTokenId, GgufKeys.EosTokenId, GgufKeys.UnknownTokenId })
            if (full.TryGetValue(key, out var id)) keep.Add(Convert.ToInt32(id));
        var idOf = new Dictionary<string, int>();
        for (int i = 0; i < tokens.Length; i++) idOf.TryAdd(tokens[i], i);
        for (int i = 0; i < tokens.Length; i++)
        {
            bool byteToken = types[i] == 6 || (model == "gpt2" && tokens[i].Length == 1 && ByteLevelChars.Contains(tokens[i][0]));
            bool userDefinedUsed = types[i] == 4 && cases.Any(c => c.Text.Contains(tokens[i], StringComparison.Ordinal));
            if (byteToken || userDefinedUsed) keep.Add(i);
        }

        // Everything that can build a kept token: the two sides of each merge that makes it, or (SentencePiece,
        // which merges any adjacent pair whose concatenation is a token) of each split into two tokens.
        var mergesByResult = new Dictionary<string, List<int>>();
        for (int r = 0; r < merges.Length; r++)
        {
            var (left, right) = SplitMerge(merges[r]);
            if (!mergesByResult.TryGetValue(left + right, out var list)) mergesByResult[left + right] = list = [];
            list.Add(r);
        }
        var keptMerges = new SortedSet<int>();
        var work = new Stack<int>(keep);
        void Add(string token)
        {
            if (idOf.TryGetValue(token, out int id) && keep.Add(id)) work.Push(id);
        }
        while (work.Count > 0)
        {
            string token = tokens[work.Pop()];
            if (model == "llama")
            {
                var runes = token.EnumerateRunes().ToArray();
                for (int i = 1; i < runes.Length; i++)
                {
                    string left = string.Concat(runes[..i]), right = string.Concat(runes[i..]);
                    if (idOf.ContainsKey(left) && idOf.ContainsKey(right)) { Add(left); Add(right); }
                }
                foreach (var r in runes) Add(r.ToString());
            }
            else if (mergesByResult.TryGetValue(token, out var producers))
            {
                foreach (int r in producers)
                {
                    var (left, right) = SplitMerge(merges[r]);
                    if (!idOf.ContainsKey(left) || !idOf.ContainsKey(right)) continue;
                    keptMerges.Add(r);
                    Add(left);
                    Add(right);
                }
            }
        }

        int[] kept = [.. keep];
        var newId = kept.Select((old, i) => (old, i)).ToDictionary(p => p.old, p => p.i);
        var writer = new GgufWriter();
        writer.Add("general.architecture", "llama");
        writer.Add("general.name", $"llama.cpp ggml-vocab-{name} cut to its test strings");
        foreach (var (key, value) in full.Where(kv => kv.Key.StartsWith("tokenizer.ggml.", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            object v = key switch
            {
                GgufKeys.Tokens => kept.Select(i => tokens[i]).ToArray(),
                GgufKeys.TokenType => kept.Select(i => types[i]).ToArray(),
                GgufKeys.Scores => kept.Select(i => ((float[])value)[i]).ToArray(),
                GgufKeys.Merges => keptMerges.Select(r => merges[r]).ToArray(),
                _ when value is uint or int && key.EndsWith("_id", StringComparison.Ordinal) =>
                    newId.TryGetValue(Convert.ToInt32(value), out int n) ? (uint)n : null!,
                _ when value is Array => null!, // per-token arrays we do not use
                _ => value,
            };
            if (v != null) writer.Add(key, v);
        }
        Directory.CreateDirectory(dir);
        writer.Write(Path.Combine(dir, name + ".gguf"));

        using var json = new Utf8JsonWriter(File.Create(Path.Combine(dir, name + ".json")), new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("source", $"llama.cpp models/ggml-vocab-{name}.gguf.inp/.out, ids renumbered to the cut vocabulary");
        json.WriteStartArray("cases");
        foreach (var c in cases)
        {
            json.WriteStartObject();
            json.WriteString("text", c.Text);
            json.WriteStartArray("ids");
            foreach (int id in c.Ids) json.WriteNumberValue(newId[id]);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static readonly HashSet<char> ByteLevelChars = [.. Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ByteToChar[b])];

    private static (string, string) SplitMerge(string merge)
    {
        int space = merge.IndexOf(' ', 1);
        return (merge[..space], merge[(space + 1)..]);
    }
}
