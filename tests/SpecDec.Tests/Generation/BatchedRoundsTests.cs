using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Server;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Generation;

/// <summary>
/// Continuous batching is invisible in the output: a forward over several sequences gives each row exactly the
/// logits of its sequence's own forward, and sessions stepped together (<see cref="BatchedRounds"/>) generate, token
/// for token, what each generates alone, greedy or sampled, whatever their methods, prompts and lengths.
/// </summary>
public sealed class BatchedRoundsTests(ServedPair pair) : IClassFixture<ServedPair>
{
    static readonly string[] Prompts =
    [
        "The history of the city begins with",
        "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
        "Once upon a time, in a small village by the sea, there lived an old fisherman who",
        "Question: What is the capital of France? Answer:",
        "The the the the the the the the the",
        "In 1905, Albert Einstein published four papers that",
        "A recipe for bread: take flour, water, salt and",
    ];

    [Fact]
    public void A_forward_over_several_sequences_gives_each_row_the_bits_of_its_own_forward()
    {
        foreach (var model in new[] { pair.Target, new SequentialOnly(pair.Target) })
        {
            int vocab = model.Config.VocabSize;
            var tokenizer = model.Tokenizer;
            int[][] prompts = Prompts.Take(3).Select(p => tokenizer.Encode(p, addSpecial: true, parseSpecial: true)).ToArray();
            // Per sequence: its new rows (tokens), parents (-1: none; empty: a chain) and the rows whose logits are wanted.
            int[][] rows = [[17], [5, 9, 33], [40, 41, 42, 43]];
            int[][] parents = [[], [], [-1, 0, 0, 1]];
            int[][] wanted = [[0], [0, 1, 2], [0, 2, 3]];
            var alone = new List<float[]>();
            var caches = new IKvCache[3];
            for (int s = 0; s < 3; s++)
            {
                var cache = Prefilled(model, prompts[s]);
                var logits = new float[wanted[s].Length * vocab];
                model.Forward(new ForwardBatch
                {
                    Tokens = rows[s], Positions = Positions(prompts[s].Length, parents[s], rows[s].Length),
                    Parents = parents[s], LogitRows = wanted[s],
                }, cache, logits);
                alone.Add(logits);
                caches[s] = Prefilled(model, prompts[s]);
            }

            var tokens = rows.SelectMany(r => r).ToArray();
            var positions = Enumerable.Range(0, 3).SelectMany(s => Positions(prompts[s].Length, parents[s], rows[s].Length)).ToArray();
            var allParents = Enumerable.Range(0, 3).SelectMany(s => parents[s].Length > 0 ? parents[s] : Enumerable.Range(-1, rows[s].Length).ToArray()).ToArray();
            var sequences = new SequenceRows[3];
            var logitRows = new List<int>();
            for (int s = 0, at = 0; s < 3; at += rows[s].Length, s++)
            {
                sequences[s] = new SequenceRows(caches[s], at, rows[s].Length);
                logitRows.AddRange(wanted[s].Select(r => at + r));
            }
            var together = new float[logitRows.Count * vocab];
            model.Forward(new ForwardBatch { Tokens = tokens, Positions = positions, Parents = allParents, LogitRows = logitRows.ToArray() }, sequences, together);

            Assert.Equal(alone.SelectMany(l => l).ToArray(), together);
            for (int s = 0; s < 3; s++) Assert.Equal(prompts[s].Length - 1 + rows[s].Length, caches[s].Length);
        }
    }

    [Fact]
    public void A_forward_over_several_sequences_refuses_rows_it_cannot_split()
    {
        var a = pair.Target.CreateCache(64);
        var b = pair.Target.CreateCache(64);
        var logits = new float[2 * pair.Target.Config.VocabSize];
        void Run(SequenceRows[] sequences, int[] logitRows, int[]? parents = null) => pair.Target.Forward(new ForwardBatch
        {
            Tokens = new[] { 1, 2, 3 }, Positions = new[] { 0, 0, 1 }, Parents = parents ?? default, LogitRows = logitRows,
        }, sequences, logits);

        Assert.Contains("share a cache", Assert.Throws<ArgumentException>(() => Run([new(a, 0, 1), new(a, 1, 2)], [0, 2])).Message);
        Assert.Contains("split the batch", Assert.Throws<ArgumentException>(() => Run([new(a, 0, 1), new(b, 2, 1)], [0, 2])).Message);
        Assert.Contains("no logit row", Assert.Throws<ArgumentException>(() => Run([new(a, 0, 1), new(b, 1, 2)], [0, 0])).Message);
        Assert.Contains("not an earlier row", Assert.Throws<ArgumentException>(() => Run([new(a, 0, 1), new(b, 1, 2)], [0, 2], [-1, 0, 1])).Message);
    }

    // Greedy, every served method: the same tokens whatever each round drafts. Sampled, plain decoding: the same
    // draws from the same logits (auto's, rest's and layerskip's drafts, and so their draws, follow their timing).
    // Draft model sessions only: their draft forwards run together, and each proposes exactly what it proposes alone,
    // greedy or sampled (the same rounds, drafts and acceptances, the same draws).
    [Theory]
    [InlineData(0f, new[] { "none", "draft", "pld", "lookahead", "rest", "layerskip", "auto" })]
    [InlineData(0.8f, new[] { "none" })]
    [InlineData(0f, new[] { "draft" })]
    [InlineData(0.8f, new[] { "draft" })]
    public void Sessions_stepped_together_generate_what_each_generates_alone(float temperature, string[] methods)
    {
        string[] prompts = Prompts[..Math.Max(4, methods.Length)];
        var options = Enumerable.Range(0, prompts.Length).Select(i => new GenerationOptions
        {
            MaxTokens = 24 + 5 * i,
            Sampling = new SamplingOptions { Temperature = temperature, Seed = (ulong)(11 + i) },
            Speculation = SpeculationOptions.For(methods[i % methods.Length]),
        }).ToArray();
        var alone = prompts.Select((p, i) => new Generator(pair.Target, pair.Draft).Generate(p, options[i])).ToArray();
        var expected = alone.Select(r => r.Tokens.ToArray()).ToArray();

        var sessions = prompts.Select((p, i) => new Generator(pair.Target, pair.Draft).Begin(pair.Target.Tokenizer.Encode(p, addSpecial: true, parseSpecial: true), options[i])).ToArray();
        try
        {
            var batched = new BatchedRounds(pair.Target);
            var texts = new string[sessions.Length];
            var generated = sessions.Select(_ => new List<int>()).ToArray();
            // Sessions join at different rounds, as requests do.
            for (int joined = 0; sessions.Take(joined).Any(s => s.FinishReason is null) || joined < sessions.Length; )
            {
                if (joined < sessions.Length)
                {
                    sessions[joined].Prefill(); // the first token, from the prefill
                    foreach (var token in sessions[joined].RoundTokens) generated[joined].Add(token.Id);
                    joined++;
                }
                batched.Step(sessions.AsSpan(0, joined), texts);
                for (int i = 0; i < joined; i++)
                    foreach (var token in sessions[i].RoundTokens) generated[i].Add(token.Id);
            }
            for (int i = 0; i < sessions.Length; i++)
            {
                Assert.Equal(expected[i], sessions[i].Generated.ToArray());
                // A round that ends on a stop token lists it last, uncommitted.
                Assert.Equal(expected[i], generated[i].Take(expected[i].Length));
                Assert.InRange(generated[i].Count, expected[i].Length, expected[i].Length + 1);
                if (options[i].Speculation.Method == "draft")
                {
                    var (a, b) = (alone[i].Stats, sessions[i].Stats);
                    Assert.Equal((a.Rounds, a.Drafted, a.Accepted), (b.Rounds, b.Drafted, b.Accepted));
                }
            }
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }

    static IKvCache Prefilled(ILanguageModel model, int[] prompt)
    {
        var cache = model.CreateCache(256);
        model.Forward(ForwardBatch.Causal(prompt.AsSpan(0, prompt.Length - 1), Enumerable.Range(0, prompt.Length - 1).ToArray()), cache,
            new float[model.Config.VocabSize]);
        return cache;
    }

    /// <summary>Positions of new rows after a prefix of <paramref name="length"/> − 1 cached tokens: the pending token's and its descendants' by depth.</summary>
    static int[] Positions(int length, int[] parents, int rows)
    {
        var depth = new int[rows];
        for (int i = 1; i < rows; i++) depth[i] = parents.Length > 0 ? (parents[i] < 0 ? 0 : depth[parents[i]] + 1) : i;
        return depth.Select(d => length - 1 + d).ToArray();
    }

    /// <summary>A model that keeps <see cref="ILanguageModel"/>'s default forward over several sequences (one after another).</summary>
    sealed class SequentialOnly(ILanguageModel inner) : ILanguageModel
    {
        public ModelConfig Config => inner.Config;
        public ITokenizer Tokenizer => inner.Tokenizer;
        public IKvCache CreateCache(int capacity) => inner.CreateCache(capacity);
        public long CacheBytes(long positions) => inner.CacheBytes(positions);
        public void Forward(in ForwardBatch batch, IKvCache cache, Span<float> logits) => inner.Forward(batch, cache, logits);
        public void Dispose() { }
    }
}
