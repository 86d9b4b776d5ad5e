using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Tools.Conversion;

public sealed class SpmScoresTests
{
    [Fact]
    public void MergeRankBecomesScoreSoEarlierMergesWin()
    {
        string[] tokens = ["<unk>", "▁", "t", "h", "e", "▁t", "he", "▁the", "th", "<0x41>"];
        (string, string)[] merges = [("▁", "t"), ("h", "e"), ("▁t", "he"), ("t", "h"), ("▁t", "h"), ("▁th", "e")];
        float[] scores = SpmScores.FromMerges(tokens, merges);
        Assert.Equal(0f, scores[5]);  // ▁t: rank 0
        Assert.Equal(-1f, scores[6]); // he: rank 1
        Assert.Equal(-2f, scores[7]); // ▁the: rank 2, not the later rank 5 that also makes it
        Assert.Equal(-3f, scores[8]); // th: rank 3
        // Tokens no merge makes rank below every merge.
        foreach (int id in new[] { 0, 1, 2, 3, 4, 9 }) Assert.Equal(-6f, scores[id]);
        // Higher score = merged first, the order llama.cpp's SentencePiece tokenizer follows.
        Assert.True(scores[5] > scores[6] && scores[6] > scores[8]);
    }
}
