using System.Text.Json;
using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Generation;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Bundled;

/// <summary>
/// The demo models shipped in models/ (Q8_0 GGUF written by specdec convert): they agree with the Hugging Face
/// export transformers computed its reference from, and speculation on the shipped pair is lossless.
/// </summary>
public sealed class BundledModelTests
{
    private static string Repo(string relative) => Path.Combine(RepoPaths.Root, relative);

    [Fact]
    public void ShippedTinyDraftAgreesWithTransformersOnItsHfExport()
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Repo("tests/fixtures/models/demo-draft-tiny/expected.json")));
        JsonElement root = expected.RootElement;
        int[] promptIds = root.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] greedyIds = root.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        float[] lastLogits = root.GetProperty("logits")[0].EnumerateArray().Select(e => e.GetSingle()).ToArray();

        using var model = Transformer.Load(ModelSource.Open(Repo("models/draft-tiny-q8_0.gguf")), threads: 2);
        // The GGUF's tokenizer (converted from tokenizer.json) gives transformers' ids.
        Assert.Equal(promptIds, model.Tokenizer.Encode(root.GetProperty("prompt").GetString()!));

        var logits = new float[model.Config.VocabSize];
        IKvCache cache = model.CreateCache(64);
        int[] positions = Enumerable.Range(0, promptIds.Length).ToArray();
        model.Forward(ForwardBatch.Causal(promptIds, positions), cache, logits);
        // Q8_0 weights and int8 activations against bf16 weights in f32: the error is a small fraction of the
        // logits' own spread (measured: RMS 0.064 against a spread of 3.7, 1.7 %), and the greedy choice is the same.
        double err = 0, mean = lastLogits.Average(), spread = 0;
        for (int i = 0; i < lastLogits.Length; i++)
        {
            err += (logits[i] - lastLogits[i]) * (logits[i] - lastLogits[i]);
            spread += (lastLogits[i] - mean) * (lastLogits[i] - mean);
        }
        double relative = Math.Sqrt(err / spread);
        Assert.True(relative < 0.05, $"RMS logit error is {relative:P1} of the logits' spread");
        Assert.Equal(Array.IndexOf(lastLogits, lastLogits.Max()), Array.IndexOf(logits, logits.Max()));

        var result = new Generator(model).Generate(promptIds, new GenerationOptions
        {
            MaxTokens = greedyIds.Length, Sampling = SamplingOptions.Greedy,
        });
        Assert.Equal(greedyIds, result.Tokens);
    }

    public static TheoryData<string> Prompts => new()
    {
        "static int\nparse_args(int argc, char **argv)\n{\n\tint i;\n\n\tfor (i = 1; i < argc; i++) {\n",
        "<|user|>\nWhat does the word \"lantern\" mean?\n<|assistant|>\n",
        "The history of the city begins with",
    };

    [Theory]
    [MemberData(nameof(Prompts))]
    public void SpeculationOnTheShippedPairReproducesPlainGreedyDecoding(string prompt)
    {
        using var pool = new WorkerPool(2); // shared, as the CLI does
        using var target = Transformer.Load(ModelSource.Open(Repo("models/target-q8_0.gguf")), pool);
        using var draft = Transformer.Load(ModelSource.Open(Repo("models/draft-small-q8_0.gguf")), pool);
        var generator = new Generator(target, draft);
        GenerationResult Run(SpeculationOptions speculation) => generator.Generate(prompt, new GenerationOptions
        {
            MaxTokens = 96, Sampling = SamplingOptions.Greedy, Speculation = speculation,
        });

        var plain = Run(SpeculationOptions.None);
        foreach (var speculation in new SpeculationOptions[]
        {
            new() { Method = SpeculationMethods.DraftModel },
            new() { Method = SpeculationMethods.DraftModel, DraftMin = 6, DraftMax = 6, DraftPMin = 0 },
            SpeculationOptions.For(SpeculationMethods.PromptLookup),
            SpeculationOptions.For(SpeculationMethods.PromptLookup) with { Tree = true, TreeNodes = 12 },
        })
        {
            var spec = Run(speculation);
            Assert.Equal(plain.Tokens, spec.Tokens);
            Assert.Equal(plain.Text, spec.Text);
        }
    }

    [Fact]
    public void AChatAnswerOnTheShippedPairEndsWhereTheModelStartsTheNextUserTurn()
    {
        const string prompt = "<|user|>\nWhat does \"western redbud\" mean?\n<|assistant|>\n";
        using var pool = new WorkerPool(2); // shared, as the CLI does
        using var target = Transformer.Load(ModelSource.Open(Repo("models/target-q8_0.gguf")), pool);
        using var draft = Transformer.Load(ModelSource.Open(Repo("models/draft-small-q8_0.gguf")), pool);
        var generator = new Generator(target, draft);
        GenerationResult Run(string method) => generator.Generate(prompt, new GenerationOptions
        {
            MaxTokens = 96, Sampling = SamplingOptions.Greedy, Speculation = new() { Method = method },
        });

        var plain = Run(SpeculationMethods.None);
        Assert.Equal(FinishReason.StopToken, plain.FinishReason);
        Assert.Equal("\"western redbud\" (noun):", plain.Text[..24]);
        Assert.DoesNotContain('\n', plain.Text.TrimEnd());
        foreach (var method in new[] { SpeculationMethods.DraftModel, SpeculationMethods.PromptLookup })
        {
            var spec = Run(method);
            Assert.Equal(FinishReason.StopToken, spec.FinishReason);
            Assert.Equal(plain.Tokens, spec.Tokens);
        }

        // Reference: the target's own greedy choice after the answer is the user marker (the demo template has
        // no end-of-turn token), which the loop ends on instead of writing the user's next question.
        int[] ids = [.. target.Tokenizer.Encode(prompt), .. plain.Tokens];
        var logits = new float[target.Config.VocabSize];
        target.Forward(ForwardBatch.Causal(ids, Enumerable.Range(0, ids.Length).ToArray()), target.CreateCache(ids.Length), logits);
        Assert.Equal(Assert.Single(target.Tokenizer.Encode("<|user|>", addSpecial: false)), Array.IndexOf(logits, logits.Max()));
    }
}
