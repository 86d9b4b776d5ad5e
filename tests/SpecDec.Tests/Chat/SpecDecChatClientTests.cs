using Microsoft.Extensions.AI;
using SpecDec.Chat;
using SpecDec.Cli.Commands;
using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tests.Server;

namespace SpecDec.Tests.Chat;

/// <summary>The IChatClient: the same greedy answer as the generator on the templated prompt, whole or streamed, with options, usage, statistics and cancellation.</summary>
public sealed class SpecDecChatClientTests(ServedPair pair) : IClassFixture<ServedPair>
{
    static readonly ChatMessage[] Question = [new(ChatRole.User, "What is a compiler?")];

    GenerationResult Expected(int maxTokens, IReadOnlyList<string>? stops = null) => new Generator(pair.Target).Generate(
        ChatPrompt.For(pair.Target.Tokenizer)!.Render([new ChatTurn("user", "What is a compiler?")]),
        new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, AddSpecialTokens = false, StopStrings = stops ?? [] });

    [Fact]
    public async Task Greedy_answers_equal_the_generator_whole_and_streamed_with_any_method()
    {
        var expected = Expected(32);
        using IChatClient client = new SpecDecChatClient(pair.Target, pair.Draft) { Speculation = SpeculationOptions.For(SpeculationMethods.DraftModel) };
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 32 };

        var whole = await client.GetResponseAsync(Question, options);
        Assert.Equal(expected.Text, whole.Text);
        Assert.Equal(expected.Tokens.Count, whole.Usage!.OutputTokenCount);
        Assert.Equal(expected.Stats.PromptTokens, whole.Usage.InputTokenCount);
        Assert.Equal("draft", whole.AdditionalProperties!["speculation.method"]);
        Assert.True((long)whole.AdditionalProperties["speculation.drafted"]! > 0);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Question, new ChatOptions { Temperature = 0, MaxOutputTokens = 32, AdditionalProperties = new() { ["spec"] = "pld" } })) updates.Add(update);
        Assert.Equal(expected.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal("pld", updates[^1].AdditionalProperties!["speculation.method"]);
        Assert.Equal(expected.Tokens.Count, updates.ToChatResponse().Usage!.OutputTokenCount);
        Assert.NotNull(updates[^1].FinishReason);
    }

    [Fact]
    public async Task Stop_sequences_and_cancellation()
    {
        var full = Expected(32).Text;
        string stop = full.Substring(full.Length / 2, 2);
        using var client = new SpecDecChatClient(pair.Target);
        var stopped = await client.GetResponseAsync(Question, new ChatOptions { Temperature = 0, MaxOutputTokens = 32, StopSequences = [stop] });
        Assert.Equal(Expected(32, [stop]).Text, stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);

        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(Question, new ChatOptions { MaxOutputTokens = 8 }, cancel.Token));
        Assert.Same(client, client.GetService<SpecDecChatClient>());
    }

    [Fact]
    public void The_chat_command_streams_answers_and_keeps_the_conversation()
    {
        using var client = new SpecDecChatClient(pair.Target);
        var output = new StringWriter();
        var error = new StringWriter();
        ChatCommand.Run(client, new ChatOptions { Temperature = 0, MaxOutputTokens = 32 }, null,
            new StringReader("What is a compiler?\n/stats\n/reset\nWhat is a compiler?\n/exit\nnever read\n"), output, error);
        string answer = Expected(32).Text;
        Assert.Equal(answer + "\n" + answer + "\n", output.ToString().Replace("\r\n", "\n"));
        Assert.Contains("method none", error.ToString());
        Assert.Contains("(conversation cleared)", error.ToString());
    }
}
