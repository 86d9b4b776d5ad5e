using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Tests.Generation;

public class GeneratorTests
{
    private const int V = 12;

    private static GenerationOptions Greedy(int? maxTokens = 40) => new() { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy };

    private static readonly SpeculationOptions Lookup = new() { Method = SpeculationMethods.PromptLookup, NgramMin = 1, NgramMax = 3 };

    [Fact]
    public void TheContinuationIsTheTextOfTheGeneratedTokens()
    {
        var tokenizer = new TestTokenizer(V);
        var result = new Generator(new NGramTestModel(tokenizer, seed: 3)).Generate("abc", Greedy(25));
        Assert.Equal(25, result.Tokens.Count);
        Assert.Equal(tokenizer.Decode(result.Tokens.ToArray()), result.Text);
        Assert.Equal(FinishReason.MaxTokens, result.FinishReason);
        Assert.Equal(3, result.Stats.PromptTokens);
        Assert.Equal(25, result.Stats.GeneratedTokens);
        Assert.Equal(24, result.Stats.Rounds); // plain decoding: one forward per token after the prefill's
        Assert.Equal(24, result.Stats.BonusTokens);
        Assert.Equal(1.0, result.Stats.Tau);
    }

    [Fact]
    public void AStopTokenEndsGenerationAndIsNotOutput()
    {
        var tokenizer = new TestTokenizer(V);
        var free = new Generator(new NGramTestModel(tokenizer, seed: 3)).Generate("abc", Greedy());
        int stop = free.Tokens[5];
        int firstStop = free.Tokens.ToList().IndexOf(stop);
        foreach (var speculation in new[] { SpeculationOptions.None, Lookup })
        {
            var stopping = new Generator(new NGramTestModel(new TestTokenizer(V, eosId: stop), seed: 3))
                .Generate("abc", Greedy() with { Speculation = speculation });
            Assert.Equal(FinishReason.StopToken, stopping.FinishReason);
            Assert.Equal(free.Tokens.Take(firstStop), stopping.Tokens);
            Assert.Equal(free.Text[..firstStop], stopping.Text);
        }
    }

    [Fact]
    public void AStopStringCutsTheTextJustBeforeIt()
    {
        var tokenizer = new TestTokenizer(V);
        var free = new Generator(new NGramTestModel(tokenizer, seed: 3)).Generate("abc", Greedy());
        string stop = free.Text.Substring(10, 3);
        int at = free.Text.IndexOf(stop, StringComparison.Ordinal);
        foreach (var speculation in new[] { SpeculationOptions.None, Lookup })
        {
            var pieces = new List<string>();
            var result = new Generator(new NGramTestModel(tokenizer, seed: 3)).Generate("abc",
                Greedy() with { StopStrings = ["zzz", stop], Speculation = speculation }, pieces.Add);
            Assert.Equal(FinishReason.StopString, result.FinishReason);
            Assert.Equal(free.Text[..at], result.Text);
            Assert.Equal(result.Text, string.Concat(pieces));
        }
    }

    [Fact]
    public void WithoutMaxTokensGenerationRunsToTheEndOfTheContext()
    {
        var model = new NGramTestModel(new TestTokenizer(V), seed: 3, contextLength: 30);
        var result = new Generator(model).Generate("abcd", Greedy(null) with { Speculation = Lookup });
        Assert.Equal(FinishReason.ContextFull, result.FinishReason);
        Assert.Equal(26, result.Tokens.Count);
    }

    [Fact]
    public void APromptThatLeavesNoRoomIsRefusedWithTheNumbers()
    {
        var model = new NGramTestModel(new TestTokenizer(V), seed: 3, contextLength: 20);
        var e = Assert.Throws<SpecDecException>(() => new Generator(model).Generate("abcdefghij", Greedy(11)));
        Assert.Contains("10 tokens", e.Message);
        Assert.Contains("11 new tokens", e.Message);
        Assert.Contains("20", e.Message);
        Assert.Throws<SpecDecException>(() => new Generator(model).Generate("abcdefghijabcdefghij", Greedy(null)));
        Assert.Equal(10, new Generator(model).Generate("abcdefghij", Greedy(10)).Tokens.Count);
    }

    [Fact]
    public void DraftModelSpeculationWithoutADraftModelIsRefused()
    {
        var model = new NGramTestModel(new TestTokenizer(V), seed: 3);
        var options = Greedy() with { Speculation = new SpeculationOptions { Method = SpeculationMethods.DraftModel } };
        Assert.Contains("draft model", Assert.Throws<SpecDecException>(() => new Generator(model).Generate("abc", options)).Message);
    }

    [Fact]
    public async Task StreamingYieldsTheSameTextAndEndsWithTheStats()
    {
        var tokenizer = new TestTokenizer(V);
        var options = new GenerationOptions
        {
            MaxTokens = 30,
            Sampling = new SamplingOptions { Seed = 5 },
            Speculation = new SpeculationOptions { Method = SpeculationMethods.DraftModel, DraftPMin = 0 },
        };
        var sync = new Generator(new NGramTestModel(tokenizer, seed: 3), new NGramTestModel(tokenizer, seed: 4)).Generate("abc", options);
        var chunks = new List<GenerationChunk>();
        await foreach (var chunk in new Generator(new NGramTestModel(tokenizer, seed: 3), new NGramTestModel(tokenizer, seed: 4))
                           .GenerateAsync("abc", options))
            chunks.Add(chunk);

        Assert.Equal(sync.Text, string.Concat(chunks.Select(c => c.Text)));
        var last = chunks[^1];
        Assert.Equal(FinishReason.MaxTokens, last.FinishReason);
        Assert.Equal(sync.Stats.Drafted, last.Stats!.Drafted);
        Assert.All(chunks[..^1], c => Assert.Null(c.Stats));
    }

    [Fact]
    public async Task CancellationStopsTheStream()
    {
        var generator = new Generator(new NGramTestModel(new TestTokenizer(V), seed: 3));
        using var cts = new CancellationTokenSource();
        int chunks = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in generator.GenerateAsync("abc", Greedy(100), cts.Token))
            {
                if (++chunks == 3) cts.Cancel();
            }
        });
        Assert.Equal(3, chunks);
        // The generator is free again afterwards.
        Assert.Equal(5, generator.Generate("abc", Greedy(5)).Tokens.Count);
    }

    [Fact]
    public void TheSameSeedReproducesASampledRun()
    {
        var tokenizer = new TestTokenizer(V);
        var options = new GenerationOptions { MaxTokens = 30, Sampling = new SamplingOptions { Temperature = 1f, Seed = 77 } };
        var generator = new Generator(new NGramTestModel(tokenizer, seed: 3));
        Assert.Equal(generator.Generate("abc", options).Tokens, generator.Generate("abc", options).Tokens);
        Assert.NotEqual(generator.Generate("abc", options).Tokens,
            generator.Generate("abc", options with { Sampling = options.Sampling with { Seed = 78 } }).Tokens);
    }

    [Theory]
    [InlineData(SpeculationMethods.None)]
    [InlineData(SpeculationMethods.DraftModel)]
    [InlineData(SpeculationMethods.PromptLookup)]
    public void ARoundAllocatesNothingButItsText(string method)
    {
        var tokenizer = new TestTokenizer(V);
        var generator = new Generator(new NGramTestModel(tokenizer, seed: 3), new NGramTestModel(tokenizer, seed: 3, noiseSeed: 1, noiseScale: 1f));
        var options = new GenerationOptions
        {
            MaxTokens = 400,
            Sampling = new SamplingOptions { Temperature = 0.9f, TopK = 8, TopP = 0.95f, MinP = 0.02f, RepetitionPenalty = 1.1f, Seed = 1 },
            Speculation = new SpeculationOptions { Method = method, NgramMin = 1, DraftPMin = 0.2f },
        };
        var loop = generator.Start(tokenizer.Encode("abcabcabc"), options);
        loop.Prefill();
        for (int i = 0; i < 20; i++) loop.Step(); // warm up (tiered JIT)

        int rounds = 0, chars = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        while (loop.FinishReason is null && rounds < 100)
        {
            chars += loop.Step().Length;
            rounds++;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Each round's text is one string: a 24-byte header plus 2 bytes a char, rounded up to 8.
        Assert.True(allocated <= rounds * 32 + chars * 2, $"{allocated} bytes over {rounds} rounds ({chars} chars)");
    }
}
