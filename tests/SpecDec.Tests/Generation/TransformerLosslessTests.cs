using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tools.Synthetic;

namespace SpecDec.Tests.Generation;

/// <summary>
/// Lossless greedy speculation through the real stack: Hugging Face folders loaded by the format reader,
/// the tokenizer from tokenizer.json, the Transformer and its KV cache (rollback included). The target is a
/// small random-weight F32 model; the draft is the same model stored in BF16, so it agrees often but not
/// always, as a real draft does. Sequences run past position 64, where verification batches straddle the
/// attention's 64-key tiles.
/// </summary>
public sealed class TransformerLosslessTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly Transformer _target;
    private readonly Transformer _draft;

    public TransformerLosslessTests()
    {
        string target = Path.Combine(_dir.Path, "target"), draft = Path.Combine(_dir.Path, "draft");
        new TinyHf { Layers = 2 }.Write(target);
        new TinyHf { Layers = 2, Dtype = "BF16" }.Write(draft);
        _target = Transformer.Load(ModelSource.Open(target), threads: 2);
        _draft = Transformer.Load(ModelSource.Open(draft), threads: 2);
    }

    public void Dispose()
    {
        _target.Dispose();
        _draft.Dispose();
        _dir.Dispose();
    }

    public static TheoryData<int[]> Prompts => new()
    {
        new[] { 1, 2, 3, 4, 5, 6, 7 },
        new[] { 24, 0, 13, 9 },
        new[] { 3, 14, 15, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7, 9, 5 },
        new[] { 5, 6, 7, 5, 6, 7, 5, 6, 7, 5, 6 }, // repetitive: prompt lookup fires at once
    };

    private GenerationResult Run(Generator generator, int[] prompt, SpeculationOptions speculation) =>
        generator.Generate(prompt, new GenerationOptions { MaxTokens = 48, Sampling = SamplingOptions.Greedy, Speculation = speculation });

    [Theory]
    [MemberData(nameof(Prompts))]
    public void DraftModelAndPromptLookupReproducePlainGreedyDecoding(int[] prompt) =>
        AssertLossless(new Generator(_target, _draft), prompt);

    /// <summary>
    /// The same on Gemma 2 and 3, Phi-3 and the mixtures of experts (<see cref="Model.TinyModels"/>): sliding windows
    /// of 4 and 5 (shorter than every prompt), soft-caps (Gemma 2), local and global RoPE bases (Gemma 3), with
    /// rollbacks across window boundaries; stacked projections and LongRoPE (Phi-3); verification batches whose rows
    /// route to different experts (Mixtral, Qwen3-MoE, OLMoE). The draft has weights of its own seed.
    /// </summary>
    [Theory]
    [InlineData("gemma2")]
    [InlineData("gemma3")]
    [InlineData("phi3")]
    [InlineData("mixtral")]
    [InlineData("qwen3moe")]
    [InlineData("olmoe")]
    public void SpeculationOnEachArchitectureReproducesPlainGreedyDecoding(string architecture)
    {
        ModelConfig c = Model.TinyModels.Config(architecture) with { VocabSize = 26 }; // TestTokenizer's letters
        var tokenizer = new TestTokenizer(c.VocabSize);
        using var t = Transformer.Load(new SyntheticModelSource(c, GgmlType.F32, seed: 1, tokenizer: tokenizer), threads: 2);
        using var d = Transformer.Load(new SyntheticModelSource(c, GgmlType.BF16, seed: 2, tokenizer: tokenizer), threads: 2);
        foreach (int[] prompt in new[] { new[] { 1, 2, 3, 4, 5, 6, 7 }, new[] { 5, 6, 7, 5, 6, 7, 5, 6, 7, 5, 6 } })
            AssertLossless(new Generator(t, d), prompt);
    }

    private void AssertLossless(Generator generator, int[] prompt)
    {
        var plain = Run(generator, prompt, SpeculationOptions.None);
        Assert.InRange(plain.Tokens.Count, 20, 48); // 48, or fewer when <|endoftext|> comes first

        long drafted = 0, accepted = 0;
        SpeculationOptions[] methods =
        [
            new() { Method = SpeculationMethods.DraftModel, DraftMin = 1, DraftMax = 1, DraftPMin = 0 },
            new() { Method = SpeculationMethods.DraftModel, DraftMin = 4, DraftMax = 4, DraftPMin = 0 },
            new() { Method = SpeculationMethods.DraftModel, DraftMin = 1, DraftMax = 12 },
            new() { Method = SpeculationMethods.DraftModel, DraftMin = 1, DraftMax = 6, DraftContext = 8 },
            new() { Method = SpeculationMethods.PromptLookup, DraftMin = 1, DraftMax = 8, NgramMin = 1, NgramMax = 3 },
            new() { Method = SpeculationMethods.PromptLookup, DraftMin = 5, DraftMax = 5, NgramMin = 2, NgramMax = 2 },
            new() { Method = SpeculationMethods.PromptLookup, DraftMin = 3, DraftMax = 3, NgramMin = 1, NgramMax = 2, Tree = true, TreeNodes = 10 },
            new SpeculationOptions { Method = SpeculationMethods.Lookahead }.WithLookahead(5, 4, 4),
            new() { Method = SpeculationMethods.Retrieval, DraftMin = 4, DraftMax = 4, Tree = true, TreeNodes = 10 },
            new() { Method = SpeculationMethods.LayerSkip, DraftMin = 3, DraftMax = 3, DraftPMin = 0, ExitLayer = 1 },
            new() { Method = SpeculationMethods.LayerSkip, DraftMin = 5, DraftMax = 5 },
            SpeculationOptions.For(SpeculationMethods.Auto),
        ];
        foreach (var speculation in methods)
        {
            var spec = Run(generator, prompt, speculation);
            Assert.Equal(plain.Tokens, spec.Tokens);
            Assert.Equal(plain.Text, spec.Text);
            drafted += spec.Stats.Drafted;
            accepted += spec.Stats.Accepted;
        }
        Assert.InRange(accepted, 1, drafted - 1);
    }

    [Fact]
    public void A_warm_up_changes_neither_the_output_nor_the_statistics_of_later_requests()
    {
        int[] prompt = [5, 6, 7, 5, 6, 7, 5, 6, 1, 2, 3];
        SpeculationOptions[] methods =
        [
            SpeculationOptions.None,
            new() { Method = SpeculationMethods.DraftModel, DraftMin = 1, DraftMax = 6 },
            new() { Method = SpeculationMethods.PromptLookup, NgramMin = 1, NgramMax = 3 },
        ];
        foreach (var sampling in new[] { SamplingOptions.Greedy, new SamplingOptions { Temperature = 0.8f, Seed = 7 } })
            foreach (var speculation in methods)
            {
                var options = new GenerationOptions { MaxTokens = 40, Sampling = sampling, Speculation = speculation };
                var cold = new Generator(_target, _draft).Generate(prompt, options);
                var warmed = new Generator(_target, _draft);
                warmed.WarmUp(options);
                var warm = warmed.Generate(prompt, options);
                Assert.Equal(cold.Tokens, warm.Tokens);
                Assert.Equal((cold.Stats.Rounds, cold.Stats.Drafted, cold.Stats.Accepted), (warm.Stats.Rounds, warm.Stats.Drafted, warm.Stats.Accepted));
                Assert.Equal(prompt.Length, warm.Stats.PromptTokens);
            }
    }

    [Fact]
    public void A_draft_window_shows_the_draft_its_first_tokens_and_the_latest_ones_at_their_own_positions()
    {
        const int window = 8, drafts = 3, vocab = 40;
        int[] context = Enumerable.Range(0, 30).Select(i => (i * 7 + 3) % vocab).ToArray();
        var proposer = new DraftModelProposer(_draft, _target);
        var request = Speculation.Proposals.Request(SamplingOptions.Greedy, 64, new SpeculationOptions { DraftContext = window, DraftPMin = 0 });
        // Proposed straight away, and after the proposer read the prompt in its own prefill: the same view.
        var proposals = new List<int[]>();
        foreach (bool prefill in new[] { false, true })
        {
            proposer.Reset(request);
            if (prefill) proposer.Prefill(context);
            int[] proposed = Speculation.Proposals.Chain(Speculation.Proposals.Propose(proposer, context, drafts, vocab, new Xoshiro256StarStar(1)));
            proposals.Add(proposed);
        }

        // The draft run by hand over exactly what it should read: the sink tokens, then the window.
        int sinks = DraftModelProposer.SinkTokens;
        var tokens = new List<int>([.. context[..sinks], .. context[^window..]]);
        var positions = new List<int>([.. Enumerable.Range(0, sinks), .. Enumerable.Range(context.Length - window, window)]);
        using var cache = (KvCache)_draft.CreateCache(64);
        var logits = new float[vocab];
        var expected = new int[drafts];
        _draft.Forward(ForwardBatch.Causal(tokens.ToArray(), positions.ToArray()), cache, logits);
        for (int i = 0; i < drafts; i++)
        {
            expected[i] = Sampler.ArgMax(logits);
            _draft.Forward(ForwardBatch.Causal([expected[i]], [context.Length + i]), cache, logits);
        }
        Assert.Equal(expected, proposals[0]);
        Assert.Equal(expected, proposals[1]);
    }

    [Fact]
    public void A_proposer_that_asks_receives_the_targets_hidden_states_of_every_committed_position_once_in_order()
    {
        int[] prompt = [5, 6, 7, 5, 6, 7, 5, 6, 1, 2, 3, 5, 6];
        var recorder = new HiddenRecorder([_target.Config.LayerCount, 0], _target.Config.HiddenSize);
        SpeculationMethods.Register(new SpeculationMethod("hidden-recorder-test", "test", false,
            new SpeculationOptions { Method = "hidden-recorder-test", DraftMin = 3, DraftMax = 3, NgramMin = 1, NgramMax = 2, Tree = true, TreeNodes = 8 },
            _ => recorder));
        var options = new GenerationOptions
        {
            MaxTokens = 60, Sampling = SamplingOptions.Greedy, Speculation = SpeculationOptions.For("hidden-recorder-test"),
        };
        var result = new Generator(_target).Generate(prompt, options);
        Assert.Equal(new Generator(_target).Generate(prompt, options with { Speculation = SpeculationOptions.None }).Tokens, result.Tokens);
        Assert.True(result.Stats.Accepted > 0);

        // The reference: one plain forward over every committed token but the last, which no forward has seen yet.
        int[] committed = [.. prompt, .. result.Tokens];
        int n = committed.Length - 1, h = _target.Config.HiddenSize;
        // The round that ends generation reports its whole path, also past a stop token or the token limit.
        Assert.InRange(recorder.Rows.Count, n, n + 3);
        Assert.Equal(Enumerable.Range(0, recorder.Rows.Count), recorder.Rows.Select(r => r.Position));
        var expected = new float[2 * n * h];
        using var cache = (KvCache)_target.CreateCache(n);
        _target.Forward(new ForwardBatch
        {
            Tokens = committed[..n], Positions = Enumerable.Range(0, n).ToArray(), HiddenLayers = recorder.Layers, Hidden = expected,
        }, cache, new float[_target.Config.VocabSize]);
        for (int t = 0; t < n; t++)
            for (int l = 0; l < 2; l++)
                Model.TinyModels.AssertClose(expected.AsSpan((l * n + t) * h, h), recorder.Rows[t].States[l], 1e-4f, $"position {t}, layer {recorder.Layers[l]}");
    }

    /// <summary>Prompt lookup as a tree that also records the target's hidden states it is handed.</summary>
    private sealed class HiddenRecorder(int[] layers, int hidden) : IDraftProposer
    {
        private readonly PromptLookupProposer _lookup = new();

        public int[] Layers => layers;
        public List<(int Position, float[][] States)> Rows { get; } = [];

        public ReadOnlySpan<int> TargetLayers => layers;
        public void Reset(in ProposalRequest request) => _lookup.Reset(request);
        public void Prefill(ReadOnlySpan<int> prompt) => _lookup.Prefill(prompt);
        public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng) => _lookup.Propose(context, tree, rng);
        public void Accepted(ReadOnlySpan<int> path) => _lookup.Accepted(path);

        public void TargetHidden(int start, int rows, ReadOnlySpan<float> states)
        {
            Assert.Equal(layers.Length * rows * hidden, states.Length);
            for (int r = 0; r < rows; r++)
            {
                var perLayer = new float[layers.Length][];
                for (int l = 0; l < layers.Length; l++) perLayer[l] = states.Slice((l * rows + r) * hidden, hidden).ToArray();
                Rows.Add((start + r, perLayer));
            }
        }
    }
}
