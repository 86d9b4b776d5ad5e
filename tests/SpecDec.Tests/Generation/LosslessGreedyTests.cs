using SpecDec.Generation;
using SpecDec.Retrieval;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Generation;

/// <summary>Greedy speculation must reproduce plain greedy decoding token for token.</summary>
public class LosslessGreedyTests
{
    private const int V = 12;
    private static readonly TestTokenizer Tokenizer = new(V);

    // A target and a draft that agrees with it often but not always (the same model plus noise).
    private static NGramTestModel Target() => new(Tokenizer, seed: 1, scale: 3f, positionScale: 0.6f);
    private static NGramTestModel Draft() => new(Tokenizer, seed: 1, scale: 3f, positionScale: 0.6f, noiseSeed: 9, noiseScale: 1.2f);

    private static readonly string[] PromptTexts =
    [
        "abcdefghijkl",   // every token once
        "fed",            // short
        "cabbagedeaf",    // prose-like
        "abcabcabcabcab", // repetitive: prompt lookup fires at once
        "kkkkkkkkkk",
    ];

    public static TheoryData<string> Prompts
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (string prompt in PromptTexts) data.Add(prompt);
            return data;
        }
    }

    /// <summary>Speculation's output is plain decoding's, token for token; its drafted and accepted counts add to the totals.</summary>
    private static void AssertSameOutput(GenerationResult plain, GenerationResult spec, ref long drafted, ref long accepted)
    {
        Assert.Equal(plain.Tokens, spec.Tokens);
        Assert.Equal(plain.Text, spec.Text);
        drafted += spec.Stats.Drafted;
        accepted += spec.Stats.Accepted;
    }

    private static GenerationResult Run(Generator generator, string prompt, SpeculationOptions speculation, int maxTokens = 60) =>
        generator.Generate(prompt, new GenerationOptions
        {
            MaxTokens = maxTokens,
            Sampling = SamplingOptions.Greedy,
            Speculation = speculation,
        });

    [Theory]
    [MemberData(nameof(Prompts))]
    public void DraftModelSpeculationEqualsPlainDecoding(string prompt)
    {
        var plain = Run(new Generator(Target()), prompt, SpeculationOptions.None);
        long drafted = 0, accepted = 0;
        foreach (var (min, max) in new[] { (1, 1), (3, 3), (8, 8), (1, 8), (2, 5) })
        {
            foreach (float pMin in new[] { 0f, 0.6f })
            {
                var speculation = new SpeculationOptions { Method = SpeculationMethods.DraftModel, DraftMin = min, DraftMax = max, DraftPMin = pMin };
                // A method that drafts chains runs the same with --draft-tree: its chain stays within the round's depth.
                var spec = Run(new Generator(Target(), Draft()), prompt, speculation with { Tree = pMin > 0, TreeNodes = 8 });
                Assert.Equal(plain.Tokens, spec.Tokens);
                Assert.Equal(plain.Text, spec.Text);
                Assert.Equal(plain.FinishReason, spec.FinishReason);
                drafted += spec.Stats.Drafted;
                accepted += spec.Stats.Accepted;
            }
        }
        // Both verifier branches ran: drafts were accepted and drafts were rejected.
        Assert.InRange(accepted, 1, drafted - 1);
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void PromptLookupTreesEqualPlainDecoding(string prompt)
    {
        var plain = Run(new Generator(Target()), prompt, SpeculationOptions.None);
        long nodes = 0, depths = 0, accepted = 0;
        foreach (var (depth, budget) in new[] { (1, 3), (3, 5), (4, 16), (8, 63) })
        {
            var speculation = new SpeculationOptions
            {
                Method = SpeculationMethods.PromptLookup, DraftMin = depth, DraftMax = depth, NgramMin = 1, NgramMax = 2,
                Tree = true, TreeNodes = budget,
            };
            var spec = Run(new Generator(Target()), prompt, speculation);
            Assert.Equal(plain.Tokens, spec.Tokens);
            Assert.Equal(plain.Text, spec.Text);
            nodes += spec.Stats.Drafted;
            depths += spec.Stats.DraftedAtPosition.Sum();
            accepted += spec.Stats.Accepted;
        }
        Assert.True(nodes > depths, "no draft tree branched"); // more nodes than the rounds' depths add up to
        Assert.InRange(accepted, 1, nodes - 1);
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void PromptLookupSpeculationEqualsPlainDecoding(string prompt)
    {
        var plain = Run(new Generator(Target()), prompt, SpeculationOptions.None);
        long drafted = 0, accepted = 0;
        foreach (var (min, max) in new[] { (1, 1), (3, 3), (8, 8), (1, 8) })
        {
            foreach (var (ngramMin, ngramMax) in new[] { (1, 1), (1, 3), (2, 4) })
            {
                var speculation = new SpeculationOptions
                {
                    Method = SpeculationMethods.PromptLookup, DraftMin = min, DraftMax = max, NgramMin = ngramMin, NgramMax = ngramMax,
                };
                var spec = Run(new Generator(Target()), prompt, speculation);
                AssertSameOutput(plain, spec, ref drafted, ref accepted);
            }
        }
        Assert.InRange(accepted, 1, drafted - 1);
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void LookaheadEqualsPlainDecoding(string prompt)
    {
        var plain = Run(new Generator(Target()), prompt, SpeculationOptions.None);
        long nodes = 0, accepted = 0;
        foreach (var (window, ngram, guesses) in new[] { (1, 3, 1), (4, 3, 6), (5, 4, 4), (7, 5, 7), (3, 8, 2) })
        {
            var speculation = new SpeculationOptions { Method = SpeculationMethods.Lookahead }.WithLookahead(window, ngram, guesses);
            var spec = Run(new Generator(Target()), prompt, speculation);
            AssertSameOutput(plain, spec, ref nodes, ref accepted);
        }
        Assert.InRange(accepted, 1, nodes - 1);
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void RetrievalEqualsPlainDecoding(string prompt)
    {
        var plain = Run(new Generator(Target()), prompt, SpeculationOptions.None);
        // A datastore of plain decoding's answers to the other prompts; the generator also learns as it goes.
        using var dir = new TempDirectory();
        string store = dir.File("answers.sdds");
        var others = PromptTexts.Where(p => p != prompt)
            .SelectMany(p => Run(new Generator(Target()), p, SpeculationOptions.None).Tokens.Append(-1)).ToArray();
        using (var stream = File.Create(store)) DatastoreWriter.Write(stream, others, Tokenizer);

        var generator = new Generator(Target());
        long nodes = 0, accepted = 0;
        foreach (var (depth, budget, path) in new[] { (1, 1, store), (3, 6, null), (6, 12, store), (8, 40, store) })
        {
            var speculation = new SpeculationOptions
            {
                Method = SpeculationMethods.Retrieval, DraftMin = depth, DraftMax = depth, Tree = true, TreeNodes = budget, Datastore = path,
            };
            var spec = Run(generator, prompt, speculation);
            AssertSameOutput(plain, spec, ref nodes, ref accepted);
        }
        Assert.InRange(accepted, 1, nodes - 1);
    }

    [Fact]
    public void AutoEqualsPlainDecodingWhileItSwitchesMethods()
    {
        // With a draft model auto may draft with it, copy, retrieve or not speculate, round by round; the draft
        // model's cache must follow the rounds it sat out.
        var withDraft = new Generator(Target(), Draft());
        var alone = new Generator(Target());
        long switches = 0;
        var used = new HashSet<string>();
        for (int repeat = 0; repeat < 3; repeat++)
        {
            foreach (string prompt in PromptTexts)
            {
                var plain = Run(new Generator(Target()), prompt, SpeculationOptions.None);
                foreach (var generator in new[] { withDraft, alone })
                {
                    var spec = Run(generator, prompt, SpeculationOptions.For(SpeculationMethods.Auto));
                    Assert.Equal(plain.Tokens, spec.Tokens);
                    switches += spec.Stats.MethodSwitches;
                    used.UnionWith(spec.Stats.Methods.Keys);
                    // Every round that could draft is some method's (the last may have no room: one plain token), and
                    // the methods' tokens are the request's.
                    long unassigned = spec.Stats.Rounds - spec.Stats.Methods.Values.Sum(u => u.Rounds);
                    Assert.InRange(unassigned, 0, 1);
                    Assert.Equal(spec.Stats.Accepted + spec.Stats.Rounds - unassigned, spec.Stats.Methods.Values.Sum(u => u.Tokens));
                }
            }
        }
        Assert.True(switches > 0, "auto never switched");
        Assert.Contains(SpeculationMethods.DraftModel, used);
        Assert.Contains(SpeculationMethods.PromptLookup, used);
    }

    [Fact]
    public void SpeculationNeedsFewerTargetForwardsWhenTheDraftIsGood()
    {
        var plainTarget = Target();
        Run(new Generator(plainTarget), "abcabcabcabcab", SpeculationOptions.None);
        var specTarget = Target();
        var spec = Run(new Generator(specTarget, Target()), "abcabcabcabcab",
            new SpeculationOptions { Method = SpeculationMethods.DraftModel, DraftMin = 4, DraftMax = 4, DraftPMin = 0 }, maxTokens: 61);
        // A draft identical to the target is always right: 5 tokens per verification forward (after the prefill's first token, 12 rounds).
        Assert.Equal(1.0, spec.Stats.Alpha);
        Assert.Equal(5.0, spec.Stats.Tau);
        Assert.True(specTarget.Forwards * 4 < plainTarget.Forwards, $"{specTarget.Forwards} vs {plainTarget.Forwards}");
    }
}
