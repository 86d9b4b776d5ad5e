using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Server;

namespace SpecDec.Tests.Generation;

/// <summary>
/// A prefill taken one chunk at a time (as the server interleaves it with other requests' rounds) runs the whole
/// prompt in chunks of at most 64 tokens, the last one giving the first token before the proposer has read the
/// prompt, and then generates what a whole prefill does.
/// </summary>
public sealed class PrefillStepTests(ServedPair pair) : IClassFixture<ServedPair>
{
    [Theory]
    [InlineData(1, 1)]     // one token: one chunk of one row
    [InlineData(128, 2)]   // two full chunks
    [InlineData(129, 3)]   // and one row
    [InlineData(150, 3)]
    public void A_chunked_prefill_takes_a_step_per_chunk_and_generates_what_a_whole_one_does(int length, int steps)
    {
        var prompt = Enumerable.Range(0, length).Select(i => 3 + i * 37 % 500).ToArray();
        var options = new GenerationOptions { MaxTokens = 16, Sampling = SamplingOptions.Greedy, Speculation = SpeculationOptions.For("draft") };
        var whole = new Generator(pair.Target, pair.Draft).Generate(prompt, options);
        using var session = new Generator(pair.Target, pair.Draft).Begin(prompt, options);
        int taken = 1;
        string? first;
        while ((first = session.PrefillStep()) is null) taken++;
        Assert.Equal(steps, taken);
        Assert.Equal(length, session.Stats.PromptTokens);

        // The first token is committed with the prefill's last chunk, as a plain token, before any round.
        Assert.Equal([whole.Tokens[0]], session.Generated.ToArray());
        var token = Assert.Single(session.RoundTokens.ToArray());
        Assert.Equal((whole.Tokens[0], TokenOrigin.Plain, first.Length), (token.Id, token.Origin, token.TextEnd));
        Assert.StartsWith(first, whole.Text);
        Assert.Equal(0, session.Stats.Rounds);
        Assert.Equal(session.Stats.PrefillMs, session.Stats.FirstTokenMs); // the draft model has not read the prompt yet
        Assert.Equal("", session.PrefillStep()); // done stays done, running nothing again

        var text = new System.Text.StringBuilder(first);
        while (session.FinishReason is null) text.Append(session.Step());
        Assert.Equal(whole.Tokens, session.Generated.ToArray());
        Assert.Equal(whole.Text, text.ToString());
        // The draft model's prefill ran at the first round, counted as prompt processing after the first token.
        Assert.True(session.Stats.PrefillMs > session.Stats.FirstTokenMs);
    }
}
