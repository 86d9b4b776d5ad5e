using SpecDec.Tools.Benchmarking;

namespace SpecDec.Tests.Tools.Benchmarking;

public class ChatFormatTests
{
    [Fact]
    public void LaterTurnsHoldTheEarlierTurnsAndAnswers()
    {
        string[] turns = ["What does \"x\" mean?", "Are there any synonyms?", "What is a more general term for it?"];
        Assert.Equal("<|user|>\nWhat does \"x\" mean?\n<|assistant|>\n", ChatFormat.Prompt(turns, [], 0));
        Assert.Equal(
            "<|user|>\nWhat does \"x\" mean?\n<|assistant|>\n\"x\" (noun): a letter.\n" +
            "<|user|>\nAre there any synonyms?\n<|assistant|>\nNo.\n" +
            "<|user|>\nWhat is a more general term for it?\n<|assistant|>\n",
            ChatFormat.Prompt(turns, ["\"x\" (noun): a letter.", "No."], 2));
        Assert.Throws<ArgumentException>(() => ChatFormat.Prompt(turns, ["one answer"], 2));
    }

    [Fact]
    public void TheShippedFirstPromptsAreTheFirstTurnInThisFormat()
    {
        var set = BenchTaskSet.Load(RepoPaths.Tasks);
        Assert.All(set.Items.Where(i => i.Turns.Count > 0), i => Assert.Equal(i.Prompt, ChatFormat.Prompt(i.Turns, [], 0)));
    }

    [Theory]
    [InlineData(" Yes: \"fuddle\".\n", "Yes: \"fuddle\".")]
    [InlineData("Yes.\n<|user|>\nWhat kind of thing is it?\n<|assistant|>\nA drink.", "Yes.")]
    [InlineData("Done<|endoftext|>junk", "Done")]
    [InlineData("<|assistant|>", "")]
    public void TheAnswerFedBackStopsAtTheFirstChatTag(string output, string answer) =>
        Assert.Equal(answer, ChatFormat.Answer(output));
}
