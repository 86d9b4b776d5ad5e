using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;
using Xunit.Abstractions;
using static SpecDec.Tests.Heads.HeadFixtures;

namespace SpecDec.Tests.Heads;

/// <summary>
/// EAGLE and Medusa drafting on the fixture model with its trained fixture heads: greedy output is plain greedy
/// output token for token (trees of several shapes, sized or fixed), and sampled output follows the target's
/// law (χ² over the first three tokens under top-3 sampling, whose 27 sequences have an exact distribution).
/// </summary>
public sealed class HeadGenerationTests(ITestOutputHelper output)
{
    private static readonly string[] Prompts =
    [
        "The quick brown fox",
        "static int\nparse_args(int argc, char **argv)\n{\n\tint i;\n",
    ];

    public static TheoryData<string, int?, int?, int?> Shapes => new()
    {
        { "eagle", null, null, null }, { "eagle", 12, 4, 3 }, { "eagle", 5, 5, 1 },
        { "medusa", null, null, null }, { "medusa", 8, 2, 4 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GreedyOutputIsPlainGreedyOutput(string method, int? nodes, int? depth, int? topK)
    {
        using var target = LoadTarget();
        using var eagle = LoadEagle(target);
        using var medusa = LoadMedusa(target);
        var generator = new Generator(target, heads: new DraftHeads(eagle, medusa));
        var plain = new GenerationOptions { MaxTokens = 32, Sampling = SamplingOptions.Greedy };
        var speculation = Options(method, nodes, depth, topK);
        long drafted = 0;
        foreach (string prompt in Prompts)
        {
            var expected = generator.Generate(prompt, plain);
            var actual = generator.Generate(prompt, plain with { Speculation = speculation });
            Assert.Equal(expected.Tokens, actual.Tokens);
            // Typical acceptance changes only sampling: greedy decoding walks by the argmax either way.
            var typical = generator.Generate(prompt, plain with { Speculation = speculation with { Typical = TypicalAcceptance.Medusa } });
            Assert.Equal(expected.Tokens, typical.Tokens);
            Assert.False(typical.Stats.Lossy);
            drafted += actual.Stats.Drafted;
            if (nodes is not null) Assert.Equal(new TreeShape(nodes.Value, depth!.Value, topK!.Value), actual.Stats.TreeSize!.Value with { ExpectedAccepted = 0, ExpectedSpeedup = 0, VerifyCost = 0, DraftCost = 0 });
        }
        if (nodes is not null) Assert.True(drafted > 0);
    }

    [Fact]
    public void AHeadWithADraftVocabularyKeepsGreedyOutput()
    {
        string dir = Directory.CreateTempSubdirectory("specdec-d2t-").FullName;
        try
        {
            string head = System.IO.Path.Combine(dir, "eagle-d2t.gguf");
            SpecDec.Tools.Conversion.HeadConverter.Convert(Eagle, head, SpecDec.Tensors.GgmlType.F32, Target, draftVocab: [.. Enumerable.Range(0, 4096)]);
            using var target = LoadTarget();
            using var eagle = LoadEagle(target, head);
            var generator = new Generator(target, heads: new DraftHeads(eagle));
            var plain = new GenerationOptions { MaxTokens = 32, Sampling = SamplingOptions.Greedy };
            foreach (string prompt in Prompts)
            {
                var actual = generator.Generate(prompt, plain with { Speculation = Options("eagle", 12, 4, 3) });
                Assert.Equal(generator.Generate(prompt, plain).Tokens, actual.Tokens);
                Assert.True(actual.Stats.Drafted > 0);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TheContextsTokensOutsideTheDraftVocabularyAreDrafted()
    {
        string dir = Directory.CreateTempSubdirectory("specdec-d2t-").FullName;
        try
        {
            // A draft vocabulary of the 64 highest ids, none of which the output below contains: every draft that
            // stands is a token the head scored from its context with the target's output-head rows.
            int[] d2t = [.. Enumerable.Range(8192 - 64, 64)];
            string head = System.IO.Path.Combine(dir, "eagle-d2t.gguf");
            SpecDec.Tools.Conversion.HeadConverter.Convert(Eagle, head, SpecDec.Tensors.GgmlType.F32, Target, draftVocab: d2t);
            using var target = LoadTarget();
            using var eagle = LoadEagle(target, head);
            var generator = new Generator(target, heads: new DraftHeads(eagle));
            var plain = new GenerationOptions { MaxTokens = 32, Sampling = SamplingOptions.Greedy };
            string prompt = string.Concat(Enumerable.Repeat(Prompts[1], 3));
            var expected = generator.Generate(prompt, plain);
            var actual = generator.Generate(prompt, plain with { Speculation = Options("eagle", 6, 6, 1) });
            Assert.Equal(expected.Tokens, actual.Tokens);
            Assert.DoesNotContain(actual.Tokens, t => t >= 8192 - 64);
            Assert.True(actual.Stats.Accepted > 0, $"accepted {actual.Stats.Accepted} of {actual.Stats.Drafted}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static SpeculationOptions Options(string method, int? nodes, int? depth, int? topK)
    {
        var options = SpeculationOptions.For(method);
        return nodes is null ? options : options with
        {
            TreeNodes = nodes.Value, SizeTree = false, TreeDepth = depth, TreeTopK = topK, DraftMax = depth!.Value, DraftMin = depth.Value,
        };
    }

    private const int Samples = 1000;

    /// <summary>Prompts after which the fixture heads' first drafts are sometimes right (they are barely trained).</summary>
    [Theory]
    [InlineData("eagle", "<|user|>\nWhat does the word \"lantern\" mean?\n<|assistant|>\n")]
    [InlineData("medusa", "In the beginning God created the heaven and the")]
    public void SampledOutputFollowsTheTargetsLaw(string method, string text)
    {
        var (chi2, critical, stats) = SampleLaw(Options(method, 6, 2, 3), text);
        Assert.True(stats.Accepted > 0 && stats.Accepted < stats.Drafted, $"accepted {stats.Accepted} of {stats.Drafted} drafted");
        Assert.False(stats.Lossy);
        Assert.True(chi2 < critical, $"χ² = {chi2:F1} ≥ {critical:F1}");
    }

    /// <summary>χ² of the first three sampled tokens against their exact law, its upper 10⁻⁴ critical value, and the runs' statistics.</summary>
    private (double Chi2, double Critical, GenerationStats Stats) SampleLaw(SpeculationOptions speculation, string text)
    {
        using var target = LoadTarget();
        using var eagle = LoadEagle(target);
        using var medusa = LoadMedusa(target);
        var sampling = new SamplingOptions { Temperature = 1f, TopK = 3, TopP = 1f, MinP = 0f };
        int[] prompt = target.Tokenizer.Encode(text);
        var (exact, ids) = ExactLaw(target, prompt, sampling);

        var generator = new Generator(target, heads: new DraftHeads(eagle, medusa));
        var counts = new Dictionary<(int, int, int), int>();
        var all = new List<GenerationStats>();
        for (int i = 0; i < Samples; i++)
        {
            // Six tokens, so that the first round's tree is not cut to the two that three tokens leave room for; the
            // first three of a lossless run follow the target's law whatever comes after them.
            var result = generator.Generate(prompt, new GenerationOptions { MaxTokens = 6, Sampling = sampling with { Seed = (ulong)i }, Speculation = speculation });
            var key = (result.Tokens[0], result.Tokens[1], result.Tokens[2]);
            counts[key] = counts.GetValueOrDefault(key) + 1;
            all.Add(result.Stats);
        }
        var stats = GenerationStats.Sum(all);

        // Cells expected below 5 are pooled, as the χ² approximation needs.
        double chi2 = 0, pooledExpected = 0, pooledObserved = 0;
        int cells = 0;
        foreach (var (key, p) in exact)
        {
            double e = p * Samples;
            int o = counts.GetValueOrDefault(key);
            if (e < 5)
            {
                pooledExpected += e;
                pooledObserved += o;
                continue;
            }
            chi2 += (o - e) * (o - e) / e;
            cells++;
        }
        if (pooledExpected > 0)
        {
            chi2 += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledExpected;
            cells++;
        }
        Assert.Equal(Samples, counts.Where(c => exact.ContainsKey(c.Key)).Sum(c => c.Value)); // nothing outside the support
        int df = cells - 1;
        double critical = df * Math.Pow(1 - 2.0 / (9 * df) + 3.719 * Math.Sqrt(2.0 / (9 * df)), 3); // upper 10⁻⁴ quantile
        output.WriteLine($"{speculation.Method}{(speculation.Typical.IsOn ? " (typical)" : "")}: χ² = {chi2:F1} (critical {critical:F1} at {df} df), α = {stats.Alpha:F3}, τ = {stats.Tau:F2}; support {ids}");
        return (chi2, critical, stats);
    }

    /// <summary>P(y₁ y₂ y₃) under the sampling function over the target's logits, for every sequence it can draw.</summary>
    private static (Dictionary<(int, int, int), double> Law, int Cells) ExactLaw(ILanguageModel target, int[] prompt, SamplingOptions sampling)
    {
        var sampler = new Sampler(sampling, target.Config.VocabSize);
        var probs = new float[target.Config.VocabSize];
        var logits = new float[target.Config.VocabSize];
        var law = new Dictionary<(int, int, int), double>();
        var sequence = new List<int>(prompt);

        float[] Next()
        {
            IKvCache cache = target.CreateCache(sequence.Count);
            target.Forward(ForwardBatch.Causal(sequence.ToArray(), Enumerable.Range(0, sequence.Count).ToArray()), cache, logits);
            sampler.Distribution(logits, sequence.ToArray(), probs);
            return probs.ToArray();
        }

        var y = new int[3];
        void Walk(int depth, double probability)
        {
            if (depth == 3)
            {
                law[(y[0], y[1], y[2])] = probability;
                return;
            }
            float[] p = Next();
            for (int t = 0; t < p.Length; t++)
            {
                if (p[t] == 0) continue;
                y[depth] = t;
                sequence.Add(t);
                Walk(depth + 1, probability * p[t]);
                sequence.RemoveAt(sequence.Count - 1);
            }
        }
        Walk(0, 1);
        return (law, law.Count);
    }
}
