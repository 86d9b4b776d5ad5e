using System.Text.Json;
using BenchmarkDotNet.Attributes;
using SpecDec.Tokenization;

namespace SpecDec.Benchmarks;

/// <summary>
/// Encoding every prompt of bench/tasks (812 prompts, 646 k characters) with BOS, by our tokenizer and by the
/// Microsoft.ML.Tokenizers one built from the same tokenizer.json (<see cref="MlTokenizer"/>): the three parity
/// fixtures and the demo models' 8192-token tokenizer. Both keep a cache of encoded words, so after the first
/// pass this times encoding with warm caches, as a long benchmark run does. Setup prints how many fixture cases
/// theirs gets right and how many prompts the two encode differently.
/// </summary>
public class TokenizerEncodeBenchmark
{
    string[] _prompts = null!;
    Func<string, int[]> _encode = null!;

    /// <summary>"tokenizer/implementation": ours, or ml-tiktoken / ml-bpe (byte-level) / ml-llama (SentencePiece).</summary>
    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "";

    public static IEnumerable<string> Cases =>
    [
        "gpt2-bpe/ours", "gpt2-bpe/ml-tiktoken", "gpt2-bpe/ml-bpe",
        "llama3-bpe/ours", "llama3-bpe/ml-tiktoken", "llama3-bpe/ml-bpe",
        "spm-bpe/ours", "spm-bpe/ml-llama",
        "demo/ours", "demo/ml-tiktoken", "demo/ml-bpe",
    ];

    [GlobalSetup]
    public void Setup()
    {
        string root = RepositoryRoot();
        _prompts = [.. Directory.GetFiles(Path.Combine(root, "bench", "tasks"), "*.jsonl").Order()
            .SelectMany(File.ReadLines)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("prompt").GetString()!)];
        string[] parts = Case.Split('/');
        string json = parts[0] == "demo"
            ? Path.Combine(root, "training", "tokenizer", "tokenizer.json")
            : Path.Combine(root, "tests", "fixtures", "tokenizers", parts[0], "tokenizer.json");
        var ours = TokenizerFactory.FromTokenizerJson(json);
        if (parts[1] == "ours")
        {
            _encode = text => ours.Encode(text);
            return;
        }
        var theirs = MlTokenizer.FromTokenizerJson(json, parts[1]["ml-".Length..]);
        _encode = text => theirs.Encode(text);
        if (parts[0] != "demo") Console.WriteLine($"// {Case}: {FixtureMatches(root, parts[0], theirs)} fixture cases give Hugging Face's ids");
        int differ = _prompts.Count(p => !theirs.Encode(p).AsSpan().SequenceEqual(ours.Encode(p)));
        Console.WriteLine($"// {Case}: {differ} of {_prompts.Length} prompts encode differently from ours");
    }

    /// <summary>"n of m": the fixture strings (tests/fixtures/tokenizers/cases.json) encoded with and without BOS as recorded.</summary>
    static string FixtureMatches(string root, string name, MlTokenizer tokenizer)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(root, "tests", "fixtures", "tokenizers", "cases.json")));
        string[] strings = [.. doc.RootElement.GetProperty("strings").EnumerateArray().Select(s => s.GetString()!)];
        var expected = doc.RootElement.GetProperty("results").GetProperty(name);
        int matches = 0;
        foreach (var (key, addSpecial) in new[] { ("ids", true), ("ids_no_special", false) })
        {
            int i = 0;
            foreach (var ids in expected.GetProperty(key).EnumerateArray())
                if (ids.EnumerateArray().Select(id => id.GetInt32()).SequenceEqual(tokenizer.Encode(strings[i++], addSpecial))) matches++;
        }
        return $"{matches} of {2 * strings.Length}";
    }

    [Benchmark]
    public int EncodeAllPrompts()
    {
        int tokens = 0;
        foreach (string prompt in _prompts) tokens += _encode(prompt).Length;
        return tokens;
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SpecDec.slnx"))) return dir.FullName;
        throw new InvalidOperationException("no SpecDec.slnx above " + AppContext.BaseDirectory);
    }
}
