using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Tests.Generation;

/// <summary>After every round both caches hold exactly committed tokens.</summary>
public class RollbackTests
{
    private const int V = 10;

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    public void BothCachesHoldExactlyTheCommittedTokensAfterEveryRound(float temperature)
    {
        var tokenizer = new TestTokenizer(V);
        var target = new NGramTestModel(tokenizer, seed: 4, scale: 2f);
        var draft = new NGramTestModel(tokenizer, seed: 4, scale: 2f, noiseSeed: 3, noiseScale: 1.5f);
        var generator = new Generator(target, draft);
        int[] prompt = tokenizer.Encode("abcdefabc");
        var options = new GenerationOptions
        {
            MaxTokens = 80,
            Sampling = new SamplingOptions { Temperature = temperature, TopK = 0, TopP = 1f, MinP = 0f, Seed = 17 },
            Speculation = new SpeculationOptions { Method = SpeculationMethods.DraftModel, DraftMin = 1, DraftMax = 6, DraftPMin = 0 },
        };
        var loop = generator.Start(prompt, options);
        loop.Prefill();
        // The generator's own caches come first; CostCurve.Measure (the draft length's cost cap) times forwards in throwaway ones.
        var targetCache = target.Caches[0];
        var draftCache = draft.Caches[0];
        // The prefill ran the whole prompt and committed the first token, which the first round feeds; the draft
        // reads the context only at the first round.
        Assert.Equal(prompt, targetCache.Tokens.ToArray());
        Assert.Single(loop.Generated.ToArray());
        Assert.Equal(0, draftCache.Length);

        int rounds = 0, draftLagged = 0;
        while (loop.FinishReason is null)
        {
            long draftedBefore = loop.Stats.Drafted;
            loop.Step();
            rounds++;
            int[] committed = [.. prompt, .. loop.Generated];
            // The target has seen every committed token but the last, which the next round feeds.
            Assert.Equal(committed[..^1], targetCache.Tokens.ToArray());
            // The draft holds a prefix. After a round that drafted: all but the last, or all but the last two
            // after a fully accepted draft (its last draft token was never fed back). A round with no room to
            // draft leaves it behind until the next proposal catches up.
            Assert.Equal(committed[..draftCache.Length], draftCache.Tokens.ToArray());
            if (loop.Stats.Drafted == draftedBefore) continue;
            Assert.InRange(draftCache.Length, committed.Length - 2, committed.Length - 1);
            if (draftCache.Length == committed.Length - 2) draftLagged++;
        }
        Assert.Equal(FinishReason.MaxTokens, loop.FinishReason);
        Assert.True(rounds < 80 && draftLagged > 0, $"rounds {rounds}, full accepts {draftLagged}");
    }
}
