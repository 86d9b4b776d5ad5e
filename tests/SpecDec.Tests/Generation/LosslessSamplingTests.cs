using SpecDec.Backends.Cpu;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Synthetic;
using SpecDec.Sampling;
using SpecDec.Speculation;
using Xunit.Abstractions;

namespace SpecDec.Tests.Generation;

/// <summary>
/// Speculative sampling must leave the output distribution exactly the target's. The first three generated
/// tokens are counted over many seeded runs and compared (χ²) with the exact distribution over all V³
/// sequences, computed from the test model's logits through the sampling function. A verifier that draws
/// corrections from p instead of the residual must fail the same comparison.
/// </summary>
public class LosslessSamplingTests(ITestOutputHelper output)
{
    private const int V = 6;
    private const int Samples = 24_000;
    private static readonly TestTokenizer Tokenizer = new(V);
    private static readonly int[] Prompt = Tokenizer.Encode("abcdefab");

    // Target and draft disagree substantially (different tables), so rejections are frequent.
    private static NGramTestModel Target() => new(Tokenizer, seed: 21, scale: 1.5f, positionScale: 0.5f);
    private static NGramTestModel Draft() => new(Tokenizer, seed: 22, scale: 1.5f, positionScale: 0.5f);

    public static TheoryData<string, string> Cases => new()
    {
        { "T=1", "draft" }, { "T=1", "pld" }, { "T=1", "pld-tree" }, { "T=1", "lookahead" }, { "T=1", "rest" }, { "T=1", "layerskip" }, { "T=1", "auto" },
        { "T=0.7,top-p=0.9", "draft" }, { "T=0.7,top-p=0.9", "pld" }, { "T=0.7,top-p=0.9", "pld-tree" }, { "T=0.7,top-p=0.9", "lookahead" }, { "T=0.7,top-p=0.9", "rest" }, { "T=0.7,top-p=0.9", "layerskip" }, { "T=0.7,top-p=0.9", "auto" },
    };

    private static SamplingOptions SamplingFor(string name) => name == "T=1"
        ? new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0f }
        : new SamplingOptions { Temperature = 0.7f, TopK = 0, TopP = 0.9f, MinP = 0f };

    private static SpeculationOptions SpeculationFor(string method) => method switch
    {
        "draft" => new SpeculationOptions { Method = SpeculationMethods.DraftModel, DraftMin = 2, DraftMax = 2, DraftPMin = 0 },
        "pld" => new SpeculationOptions { Method = SpeculationMethods.PromptLookup, DraftMin = 2, DraftMax = 2, NgramMin = 1, NgramMax = 2 },
        // A 6-token vocabulary: pooled trigrams after the last token branch at once.
        // The prompt's own bigrams, then what the generator learned from earlier samples' answers: counted trees.
        "rest" => new SpeculationOptions { Method = SpeculationMethods.Retrieval, DraftMin = 2, DraftMax = 2, Tree = true, TreeNodes = 5 },
        // The test model has one block: its "early exit" is the target itself, whose greedy chain sampling rejects often.
        "layerskip" => new SpeculationOptions { Method = SpeculationMethods.LayerSkip, DraftMin = 2, DraftMax = 2, DraftPMin = 0 },
        // Every arm in turn over the samples, switching every few requests.
        "auto" => SpeculationOptions.For(SpeculationMethods.Auto),
        "lookahead" => new SpeculationOptions { Method = SpeculationMethods.Lookahead }.WithLookahead(3, 3, 3),
        // Unigram matches in a 6-token vocabulary disagree often: trees of several branches, point-mass siblings.
        _ => new SpeculationOptions { Method = SpeculationMethods.PromptLookup, DraftMin = 2, DraftMax = 2, NgramMin = 1, NgramMax = 1, Tree = true, TreeNodes = 6 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SpeculativeSamplingMatchesTheTargetDistribution(string sampling, string method)
    {
        var result = Compare(new Generator(Target(), Draft()), SamplingFor(sampling), SpeculationFor(method));
        output.WriteLine(result.ToString());
        Assert.True(result.Chi2 < result.Critical, result.ToString());
        Assert.InRange(result.Stats.Accepted, 1, result.Stats.Drafted / 10 * 9); // drafts were accepted and rejected
    }

    /// <summary>
    /// The same comparison on real transformers of each architecture (Gemma's soft-caps and sliding windows
    /// included): a 6-token vocabulary, the first three tokens (the first comes from the prefill, so the two after
    /// it are where drafts are verified), target and draft of different seeds.
    /// </summary>
    [Theory]
    [InlineData("llama", "draft")]
    [InlineData("gemma2", "draft")]
    [InlineData("gemma3", "draft")]
    [InlineData("gemma2", "pld-tree")]
    [InlineData("phi3", "draft")]
    [InlineData("mixtral", "draft")]
    [InlineData("qwen3moe", "pld-tree")]
    [InlineData("olmoe", "draft")]
    public void SpeculativeSamplingOnATransformerMatchesItsDistribution(string arch, string method)
    {
        // A logit soft-cap keeps these random models' distributions wide, so drafts are accepted and rejected.
        ModelConfig c = Model.TinyModels.Config(arch) with { VocabSize = V, FinalLogitSoftcap = 2f };
        using var target = Transformer.Load(new SyntheticModelSource(c, GgmlType.F32, seed: 3, tokenizer: Tokenizer), threads: 1);
        using var draft = Transformer.Load(new SyntheticModelSource(c, GgmlType.F32, seed: 4, tokenizer: Tokenizer), threads: 1);
        void LogitsAfter(IReadOnlyList<int> sequence, float[] logits)
        {
            int[] tokens = [.. sequence];
            target.Forward(ForwardBatch.Causal(tokens, [.. Enumerable.Range(0, tokens.Length)]), target.CreateCache(tokens.Length), logits);
        }
        var result = Compare(new Generator(target, draft), SamplingFor("T=1"), SpeculationFor(method), tokens: 3, samples: 6000, LogitsAfter);
        output.WriteLine(result.ToString());
        Assert.True(result.Chi2 < result.Critical, result.ToString());
        Assert.InRange(result.Stats.Accepted, 1, result.Stats.Drafted - 1);
    }

    [Theory]
    [InlineData("T=1")]
    [InlineData("T=0.7,top-p=0.9")]
    public void PlainSamplingMatchesTheTargetDistribution(string sampling)
    {
        var result = Compare(new Generator(Target()), SamplingFor(sampling), SpeculationOptions.None);
        output.WriteLine(result.ToString());
        Assert.True(result.Chi2 < result.Critical, result.ToString());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AVerifierThatResamplesFromPInsteadOfTheResidualFails(string sampling, string method)
    {
        // auto drafts with the other methods' proposers (each checked here), as often as its timing of the
        // machine says pays: some runs draft too little for the broken verifier's bias to show.
        if (method == "auto") return;
        var broken = new Generator(Target(), Draft()) { CreateVerifier = (s, _) => new Verifier(s, acceptance: new ResampleFromTarget(s.VocabSize)) };
        var result = Compare(broken, SamplingFor(sampling), SpeculationFor(method));
        output.WriteLine(result.ToString());
        Assert.True(result.Chi2 > result.Critical, result.ToString());
    }

    private sealed record Comparison(double Chi2, double Critical, int DegreesOfFreedom, double TotalVariation, GenerationStats Stats)
    {
        public override string ToString() =>
            $"χ² = {Chi2:F1} (critical {Critical:F1} at {DegreesOfFreedom} df), TV = {TotalVariation:F4}, α = {Stats.Alpha:F3}";
    }

    private static Comparison Compare(Generator generator, SamplingOptions sampling, SpeculationOptions speculation)
    {
        NGramTestModel target = Target();
        return Compare(generator, sampling, speculation, tokens: 3, Samples, (seq, logits) => target.Logits(seq[^2], seq[^1], seq.Count, logits));
    }

    /// <summary>Counts of the first <paramref name="tokens"/> generated tokens against their exact distribution.</summary>
    /// <param name="logitsAfter">The target's logits after a sequence (prompt and tokens so far).</param>
    private static Comparison Compare(Generator generator, SamplingOptions sampling, SpeculationOptions speculation, int tokens,
        int samples, Action<IReadOnlyList<int>, float[]> logitsAfter)
    {
        double[] exact = ExactDistribution(logitsAfter, sampling, tokens);
        var counts = new int[exact.Length];
        var all = new List<GenerationStats>();
        for (int i = 0; i < samples; i++)
        {
            var options = new GenerationOptions
            {
                MaxTokens = tokens,
                Sampling = sampling with { Seed = (ulong)i },
                Speculation = speculation,
            };
            var result = generator.Generate(Prompt, options);
            Assert.Equal(tokens, result.Tokens.Count);
            counts[result.Tokens.Aggregate(0, (cell, y) => cell * V + y)]++;
            all.Add(result.Stats);
        }

        // Pool cells expected to hold fewer than 5 samples, as the χ² approximation needs.
        double chi2 = 0, pooledExpected = 0, pooledObserved = 0, tv = 0;
        int cells = 0;
        for (int c = 0; c < exact.Length; c++)
        {
            double expected = exact[c] * samples;
            tv += Math.Abs(counts[c] - expected) / samples / 2;
            if (expected < 5)
            {
                pooledExpected += expected;
                pooledObserved += counts[c];
                continue;
            }
            chi2 += (counts[c] - expected) * (counts[c] - expected) / expected;
            cells++;
        }
        if (pooledExpected > 0)
        {
            chi2 += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledExpected;
            cells++;
        }
        int df = cells - 1;
        return new Comparison(chi2, ChiSquareCritical(df), df, tv, GenerationStats.Sum(all));
    }

    /// <summary>P(y₁ … yₙ) = Π p(yᵢ | prompt, y₁ … yᵢ₋₁), each p the sampling function applied to the target's logits.</summary>
    private static double[] ExactDistribution(Action<IReadOnlyList<int>, float[]> logitsAfter, SamplingOptions sampling, int tokens)
    {
        var sampler = new Sampler(sampling, V);
        var logits = new float[V];
        var probs = new float[V];
        var exact = new double[(int)Math.Pow(V, tokens)];
        var sequence = new List<int>(Prompt);

        void Walk(int depth, int cell, double probability)
        {
            if (depth == tokens)
            {
                exact[cell] = probability;
                return;
            }
            logitsAfter(sequence, logits);
            sampler.Distribution(logits, sequence.ToArray(), probs);
            double[] p = probs.Select(x => (double)x).ToArray();
            for (int y = 0; y < V; y++)
            {
                if (p[y] == 0) continue;
                sequence.Add(y);
                Walk(depth + 1, cell * V + y, probability * p[y]);
                sequence.RemoveAt(sequence.Count - 1);
            }
        }

        Walk(0, 0, 1.0);
        return exact;
    }

    /// <summary>Upper 10⁻⁴ quantile of χ² with df degrees of freedom (Wilson–Hilferty approximation).</summary>
    private static double ChiSquareCritical(int df)
    {
        const double z = 3.719; // standard normal upper 10⁻⁴ quantile
        double a = 2.0 / (9 * df);
        return df * Math.Pow(1 - a + z * Math.Sqrt(a), 3);
    }

    /// <summary>The classic mistake: on rejection, go on with p instead of norm(max(0, p − q)) (or p without x).</summary>
    private sealed class ResampleFromTarget(int vocab) : TreeAcceptance<float>(vocab)
    {
        protected override void Residual(Span<float> residual, float mass, ReadOnlySpan<float> q, int x) { }
    }
}
