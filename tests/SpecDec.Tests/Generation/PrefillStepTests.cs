using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Server;

namespace SpecDec.Tests.Generation;

/// <summary>
/// A prefill taken one chunk at a time (as the server interleaves it with other requests' rounds) runs the prompt in
/// chunks of at most 64 tokens, the proposer's prefill with the last, and then generates what a whole prefill does.
/// </summary>
public sealed class PrefillStepTests(ServedPair pair) : IClassFixture<ServedPair>
{
    [Theory]
    [InlineData(1, 1)]     // one token: nothing for the target to prefill, the proposer reads it
    [InlineData(129, 2)]   // 128 tokens before the pending one: two full chunks
    [InlineData(150, 3)]
    public void A_chunked_prefill_takes_a_step_per_chunk_and_generates_what_a_whole_one_does(int length, int steps)
    {
        var prompt = Enumerable.Range(0, length).Select(i => 3 + i * 37 % 500).ToArray();
        var options = new GenerationOptions { MaxTokens = 16, Sampling = SamplingOptions.Greedy, Speculation = SpeculationOptions.For("draft") };
        var expected = new Generator(pair.Target, pair.Draft).Generate(prompt, options).Tokens.ToArray();
        using var session = new Generator(pair.Target, pair.Draft).Begin(prompt, options);
        int taken = 1;
        while (!session.PrefillStep()) taken++;
        Assert.Equal(steps, taken);
        Assert.True(session.PrefillStep()); // done stays done, running nothing again
        Assert.Equal(length, session.Stats.PromptTokens);
        while (session.FinishReason is null) session.Step();
        Assert.Equal(expected, session.Generated.ToArray());
    }
}
