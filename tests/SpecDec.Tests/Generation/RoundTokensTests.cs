using System.Text;
using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Server;

namespace SpecDec.Tests.Generation;

/// <summary>
/// A session tells, round by round, every token it produced and how it came: the tokens are the output's in
/// order, their texts make the output, and the origins add up to the statistics' accepted, correction and bonus
/// counts (a round with no draft is plain, which the statistics count as a bonus).
/// </summary>
public sealed class RoundTokensTests(ServedPair pair) : IClassFixture<ServedPair>
{
    const string Prompt = "The history of the city begins with";

    [Theory]
    [InlineData("none")]
    [InlineData("draft")]
    [InlineData("pld")]
    public void Every_token_of_a_round_comes_with_its_origin_and_its_text(string method)
    {
        var options = new GenerationOptions { MaxTokens = 48, Sampling = SamplingOptions.Greedy, Speculation = SpeculationOptions.For(method) };
        string expected = new Generator(pair.Target).Generate(Prompt, options with { Speculation = SpeculationOptions.None }).Text;
        var prompt = pair.Target.Tokenizer.Encode(Prompt, addSpecial: true, parseSpecial: true);
        using var session = new Generator(pair.Target, pair.Draft).Begin(prompt, options);
        string piece = session.Prefill(); // the first token, from the prefill
        var text = new StringBuilder();
        var ids = new List<int>();
        var counts = new int[4];
        while (true)
        {
            int start = 0;
            foreach (var token in session.RoundTokens)
            {
                Assert.InRange(token.TextEnd, start, piece.Length);
                text.Append(piece, start, token.TextEnd - start);
                start = token.TextEnd;
                ids.Add(token.Id);
                counts[(int)token.Origin]++;
            }
            Assert.Equal(piece.Length, start);
            if (session.FinishReason is not null) break;
            piece = session.Step();
        }
        Assert.Equal(FinishReason.MaxTokens, session.FinishReason);
        Assert.Equal(expected, text.ToString());
        Assert.Equal(session.Generated.ToArray(), ids);
        var stats = session.Stats;
        Assert.Equal(stats.Accepted, counts[(int)TokenOrigin.Accepted]);
        Assert.Equal(stats.CorrectionTokens, counts[(int)TokenOrigin.Correction]);
        // Every round's last token is a bonus or a correction; the first token is the prefill's, plain.
        Assert.Equal(stats.BonusTokens + 1, counts[(int)TokenOrigin.Bonus] + counts[(int)TokenOrigin.Plain]);
        Assert.Equal(48, stats.Rounds + stats.Accepted + 1);
        if (method == "none") Assert.Equal(48, counts[(int)TokenOrigin.Plain]);
        else Assert.True(counts[(int)TokenOrigin.Accepted] > 0, $"{method} had no draft token accepted");
        Assert.InRange(stats.FirstTokenMs, double.Epsilon, stats.PrefillMs);
    }
}
