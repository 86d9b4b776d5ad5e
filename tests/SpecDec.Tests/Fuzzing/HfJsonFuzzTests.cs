using System.Text;
using System.Text.Json.Nodes;
using SpecDec.Backends.Cpu;
using SpecDec.Model;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Fuzzing;

/// <summary>
/// A tiny Hugging Face folder with one of its JSON files mutated (fixed seed): the model loads, tokenizes and
/// detokenizes, or loading fails with a SpecDecException; never another exception or a hang.
/// </summary>
public sealed class HfJsonFuzzTests
{
    private static readonly TinyHf Model = new()
    {
        Hidden = 16, Heads = 2, KvHeads = 1, Intermediate = 16, Layers = 1, Vocab = 32,
        TokenizerConfig = new JsonObject
        {
            ["add_bos_token"] = true,
            ["add_eos_token"] = false,
            ["bos_token"] = "<|endoftext|>",
            ["eos_token"] = new JsonObject { ["content"] = "<|endoftext|>", ["special"] = true },
            ["model_max_length"] = 512,
            ["chat_template"] = "{% for m in messages %}{{ m['content'] }}{% endfor %}",
            ["added_tokens_decoder"] = new JsonObject { ["25"] = new JsonObject { ["content"] = "<|endoftext|>", ["special"] = true } },
        },
    };

    [Theory]
    [InlineData("config.json", 1)]
    [InlineData("tokenizer.json", 2)]
    [InlineData("tokenizer_config.json", 3)]
    public void MutatedJsonLoadsOrFailsCleanly(string file, int seed)
    {
        using var dir = new TempDirectory();
        Model.Write(dir.Path);
        string path = dir.File(file);
        JsonNode original = JsonNode.Parse(File.ReadAllText(path))!;
        Load(dir.Path); // the seed itself is valid
        var random = new Random(seed);
        int loaded = 0, refused = 0;
        for (int i = 0; i < 1500; i++)
        {
            byte[] text = JsonMutator.Mutate(original, random);
            File.WriteAllBytes(path, text);
            if (FuzzCase.Run(() => Load(dir.Path), Encoding.UTF8.GetString(text))) loaded++;
            else refused++;
        }
        Assert.True(loaded > 100, $"only {loaded} mutants loaded");
        Assert.True(refused > 500, $"only {refused} mutants refused");
    }

    private static void Load(string folder)
    {
        using Transformer model = Transformer.Load(ModelSource.Open(folder), threads: 1);
        int[] ids = model.Tokenizer.Encode("abcd e<|endoftext|>m");
        model.Tokenizer.Decode(ids);
    }
}
