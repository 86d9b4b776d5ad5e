using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

public class BenchProgressTests
{
    [Fact]
    public void A_finished_item_shows_its_tokens_and_rate_and_an_empty_answer_no_rate()
    {
        Assert.Equal("12 tokens, 34.6 tok/s", new BenchProgress(1, 2, false, 1, "qa-0001", "pld", 12, 34.56).Speed);
        Assert.Equal("0 tokens", new BenchProgress(2, 2, false, 1, "qa-0002", "ar", 0, 0).Speed);
    }
}
