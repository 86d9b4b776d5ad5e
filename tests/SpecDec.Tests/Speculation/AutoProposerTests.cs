using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Generation;

namespace SpecDec.Tests.Speculation;

public class AutoProposerTests
{
    // 300 two-letter tokens, so a prompt can hold no repeated n-gram (nothing to copy or retrieve).
    private static readonly TestTokenizer Tokenizer =
        new(Enumerable.Range(0, 300).Select(i => new[] { (byte)('a' + i / 26), (byte)('a' + i % 26) }).ToArray());

    /// <summary>
    /// Auto over toy models with a cost curve that does not depend on timing: each verified row past the first costs a
    /// sixth of a one-row forward, a draft token a tenth, and the draft model reads a prompt's token for a twentieth.
    /// </summary>
    private static AutoProposer Create()
    {
        var target = new NGramTestModel(Tokenizer, seed: 1);
        var draft = new NGramTestModel(Tokenizer, seed: 1);
        var cost = new LearnedCostCurve(new CostCurve(Enumerable.Range(1, 64).Select(n => 1 + (n - 1) / 6.0).ToArray()), learns: false);
        return new AutoProposer(new ProposerContext(target, draft), cost, draftTokenMs: 0.1, draftPrefillRowMs: 0.05);
    }

    private static string FirstChoice(AutoProposer auto, int promptLength)
    {
        int[] prompt = Enumerable.Range(0, promptLength).ToArray();
        auto.Reset(Proposals.Request(SamplingOptions.Greedy, 1024, SpeculationOptions.For(SpeculationMethods.Auto)));
        auto.Prefill(prompt);
        var tree = Proposals.Propose(auto, prompt, 12, Tokenizer.VocabSize, depth: 8);
        if (auto.ActiveMethod == SpeculationMethods.None) Assert.Equal(0, tree.Count);
        auto.Accepted([]);
        return auto.ActiveMethod;
    }

    [Fact]
    public void TheDraftModelReadsALongPromptOnlyWhereTheUsualAnswerRepaysIt()
    {
        var auto = Create();
        // Answers of 64 tokens (the prior) repay reading 250 prompt tokens with the draft model (the toy models read whole contexts, no window).
        Assert.Equal(SpeculationMethods.DraftModel, FirstChoice(auto, 250));
        // This process's answers turn out short (a summary of a long text): reading the prompt no longer pays …
        for (int i = 0; i < 20; i++) auto.Finished(new int[8]);
        Assert.Equal(SpeculationMethods.None, FirstChoice(auto, 250));
        // … while a short prompt still does.
        Assert.Equal(SpeculationMethods.DraftModel, FirstChoice(auto, 12));
    }

    /// <summary>
    /// One round verified against <paramref name="truth"/> (what the target would commit after each context length):
    /// the longest path of the proposal that follows it, then its next token. Returns the source that drafted.
    /// </summary>
    private static string Round(AutoProposer auto, List<int> context, Func<int, int> truth)
    {
        var tree = Proposals.Propose(auto, context.ToArray(), 12, Tokenizer.VocabSize, depth: 8);
        var path = new List<int>();
        for (int node = -1; (node = tree.Child(node, truth(context.Count))) >= 0;)
        {
            path.Add(node);
            context.Add(tree.Tokens[node]);
        }
        auto.Accepted(path.ToArray());
        context.Add(truth(context.Count));
        return auto.ActiveMethod;
    }

    [Fact]
    public void ARequestThatCopiesWellDoesNotMakeTheDraftModelReadItsPrompt()
    {
        var auto = Create();
        // A first request teaches auto that copies of a repeated text stand (the toy draft model does not know it).
        var first = Enumerable.Range(0, 50).Concat(Enumerable.Range(0, 50)).ToList();
        auto.Reset(Proposals.Request(SamplingOptions.Greedy, 1024, SpeculationOptions.For(SpeculationMethods.Auto)));
        auto.Prefill(first.ToArray());
        for (int round = 0; round < 12; round++) Round(auto, first, n => first[n - 50]);
        auto.Finished(first.Skip(100).ToArray());

        // The next request repeats another text of 100 tokens, into which the answer brings a token never seen: nothing
        // to copy in the next round. The draft model's record is no better than plain decoding's there, but reading 200
        // prompt tokens does not pay where copies have cost a fraction of a one-row round a token.
        var context = Enumerable.Range(100, 100).Concat(Enumerable.Range(100, 100)).ToList();
        auto.Reset(Proposals.Request(SamplingOptions.Greedy, 1024, SpeculationOptions.For(SpeculationMethods.Auto)));
        auto.Prefill(context.ToArray());
        var choices = new List<string>();
        for (int round = 0; round < 4; round++) choices.Add(Round(auto, context, n => context[n - 100]));
        context.Add(299);
        for (int round = 0; round < 4; round++) choices.Add(Round(auto, context, n => context[n - 100]));
        Assert.DoesNotContain(SpeculationMethods.DraftModel, choices);
        Assert.Contains(SpeculationMethods.PromptLookup, choices);
    }

    [Fact]
    public void ADraftModelWhoseDraftsFailIsDroppedAndLaterTriedAgain()
    {
        var auto = Create();
        auto.Reset(Proposals.Request(SamplingOptions.Greedy, 1024, SpeculationOptions.For(SpeculationMethods.Auto)));
        var context = Enumerable.Range(0, 12).ToList();
        auto.Prefill(context.ToArray());
        var choices = new List<string>();
        for (int round = 0; round < 150; round++)
        {
            Proposals.Propose(auto, context.ToArray(), 12, Tokenizer.VocabSize, depth: 8);
            choices.Add(auto.ActiveMethod);
            auto.Accepted([]); // every draft rejected at its first token
            context.Add(12 + round); // no repeats: nothing to copy or retrieve
        }
        Assert.Equal(SpeculationMethods.DraftModel, choices[0]);
        int dropped = choices.IndexOf(SpeculationMethods.None);
        Assert.InRange(dropped, 1, 10);
        // After sitting out a while (its record fades, its optimism grows), it is tried again, and dropped again.
        int retried = choices.IndexOf(SpeculationMethods.DraftModel, dropped);
        Assert.InRange(retried, dropped + 5, 149);
        Assert.Contains(SpeculationMethods.None, choices.Skip(retried));
    }
}
