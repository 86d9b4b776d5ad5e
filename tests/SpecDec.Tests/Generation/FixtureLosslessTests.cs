using System.Text.Json;
using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Generation;

/// <summary>
/// Speculation on the transformers reference checkpoints: plain greedy decoding reproduces transformers'
/// greedy ids, and every proposer reproduces plain decoding token for token. The draft for llama-f32 is
/// llama-bf16 (the same weights rounded: same tokenizer, close but not equal distributions).
/// </summary>
public class FixtureLosslessTests
{
    private static (int[] Prompt, int[] Greedy) Expected(string name)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelFixtures.Dir(name), "expected.json")));
        int[] Ids(string field) => json.RootElement.GetProperty(field).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        return (Ids("prompt_ids"), Ids("greedy_ids"));
    }

    private static Transformer Load(string name) => Transformer.Load(ModelSource.Open(ModelFixtures.Dir(name)), threads: 2);

    private static GenerationResult Run(Generator generator, int[] prompt, int maxTokens, SpeculationOptions speculation) =>
        generator.Generate(prompt, new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, Speculation = speculation });

    [Fact]
    public void LlamaF32WithItsBf16DraftReproducesTransformersGreedy()
    {
        var (prompt, greedy) = Expected("llama-f32");
        using var target = Load("llama-f32");
        using var draft = Load("llama-bf16");
        var generator = new Generator(target, draft);
        var plain = Run(generator, prompt, greedy.Length, SpeculationOptions.None);
        Assert.Equal(greedy, plain.Tokens);

        long drafted = 0, accepted = 0;
        foreach (var (min, max) in new[] { (1, 1), (3, 3), (8, 8), (1, 8) })
        {
            var spec = Run(generator, prompt, greedy.Length,
                new SpeculationOptions { Method = SpeculationMethods.DraftModel, DraftMin = min, DraftMax = max, DraftPMin = 0 });
            Assert.Equal(greedy, spec.Tokens);
            drafted += spec.Stats.Drafted;
            accepted += spec.Stats.Accepted;
        }
        Assert.True(accepted > drafted / 2, $"accepted {accepted} of {drafted}");
    }

    [Theory]
    [InlineData("llama-f32")]
    [InlineData("mistral-f32")]
    [InlineData("qwen2-f32")]
    [InlineData("qwen3-bf16")]
    public void PromptLookupReproducesPlainGreedyOnACopyHeavyPrompt(string name)
    {
        var (prompt, greedy) = Expected(name);
        // The reference continuation, then the prompt again: what follows is likely a copy, so lookup fires.
        int[] copyPrompt = [.. prompt, .. greedy, .. prompt[1..]];
        using var model = Load(name);
        var generator = new Generator(model);
        var plain = Run(generator, copyPrompt, 40, SpeculationOptions.None);
        var chain = new SpeculationOptions { Method = SpeculationMethods.PromptLookup, DraftMin = 1, DraftMax = 8, NgramMin = 1, NgramMax = 3 };
        foreach (var speculation in new[] { chain, chain with { DraftMin = 4, DraftMax = 4, Tree = true, TreeNodes = 12 } })
        {
            var spec = Run(generator, copyPrompt, 40, speculation);
            Assert.Equal(plain.Tokens, spec.Tokens);
            Assert.Equal(plain.Text, spec.Text);
            Assert.True(spec.Stats.Accepted > 0, $"{name}: nothing accepted of {spec.Stats.Drafted}");
        }
    }
}
