using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Chat;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over a loaded model: the conversation is rendered with the
/// model's own chat template and generated with <see cref="Generator"/>, speculating with
/// <see cref="Speculation"/> (or a method named by <c>ChatOptions.AdditionalProperties["spec"]</c>). ChatOptions'
/// Temperature, TopP, TopK, MaxOutputTokens, StopSequences and Seed are honoured; usage comes back as usual and
/// the speculation statistics in the response's AdditionalProperties (<c>speculation.method</c>,
/// <c>.drafted</c>, <c>.accepted</c>, <c>.alpha</c>, <c>.tau</c>). Calls may run concurrently: each takes a
/// generator (its own KV cache) from a pool over the shared model.
/// </summary>
public sealed class SpecDecChatClient : IChatClient
{
    private readonly ILanguageModel _target;
    private readonly ILanguageModel? _draft;
    private readonly ChatPrompt _prompt;
    private readonly ConcurrentBag<Generator> _idle = [];
    private readonly ChatClientMetadata _metadata;

    /// <summary>Throws a <see cref="SpecDecException"/> when the model has no chat template.</summary>
    public SpecDecChatClient(ILanguageModel target, ILanguageModel? draft = null, string modelId = "specdec")
    {
        _target = target;
        _draft = draft;
        _prompt = ChatPrompt.For(target.Tokenizer) ?? throw new SpecDecException("the model has no chat template, so it cannot chat");
        _metadata = new ChatClientMetadata("specdec", null, modelId);
    }

    /// <summary>The speculation of requests that name no method; plain decoding by default.</summary>
    public SpeculationOptions Speculation { get; init; } = SpeculationOptions.None;

    /// <summary>Most new tokens when the options name none.</summary>
    public int DefaultMaxOutputTokens { get; init; } = 512;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (prompt, generation) = Prepare(messages, options);
        var generator = Take();
        try
        {
            var result = await Task.Run(() => generator.Generate(prompt, generation, null, cancellationToken), cancellationToken).ConfigureAwait(false);
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, result.Text))
            {
                FinishReason = Finish(result.FinishReason),
                Usage = Usage(result.Stats),
                ModelId = _metadata.DefaultModelId,
                AdditionalProperties = Speculated(generation, result.Stats),
            };
        }
        finally
        {
            _idle.Add(generator);
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (prompt, generation) = Prepare(messages, options);
        var generator = Take();
        try
        {
            await foreach (var chunk in generator.GenerateAsync(prompt, generation, cancellationToken).ConfigureAwait(false))
            {
                if (chunk.Stats is null)
                {
                    yield return new ChatResponseUpdate(ChatRole.Assistant, chunk.Text) { ModelId = _metadata.DefaultModelId };
                    continue;
                }
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Usage(chunk.Stats))])
                {
                    FinishReason = Finish(chunk.FinishReason!.Value),
                    ModelId = _metadata.DefaultModelId,
                    AdditionalProperties = Speculated(generation, chunk.Stats),
                };
            }
        }
        finally
        {
            _idle.Add(generator);
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <summary>The models belong to the caller; nothing to release.</summary>
    public void Dispose() { }

    private Generator Take() => _idle.TryTake(out var generator) ? generator : new Generator(_target, _draft);

    /// <summary>The conversation's prompt ids and the request's generation options; throws on what cannot run.</summary>
    private (int[] Prompt, GenerationOptions Options) Prepare(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var turns = messages.Select(m => new ChatTurn(m.Role.Value, m.Text)).ToArray();
        var speculation = Speculation;
        if (options?.AdditionalProperties?.TryGetValue("spec", out var method) == true && method is string name)
            speculation = SpeculationOptions.For(name);
        var generation = new GenerationOptions
        {
            MaxTokens = options?.MaxOutputTokens ?? DefaultMaxOutputTokens,
            StopStrings = options?.StopSequences?.ToArray() ?? [],
            AddSpecialTokens = false,
            Speculation = speculation,
            Sampling = new SamplingOptions
            {
                Temperature = options?.Temperature ?? new SamplingOptions().Temperature,
                TopP = options?.TopP ?? new SamplingOptions().TopP,
                TopK = options?.TopK ?? new SamplingOptions().TopK,
                Seed = options?.Seed is long seed ? unchecked((ulong)seed) : null,
            },
        };
        generation.Validate();
        return (_prompt.Encode(turns), generation);
    }

    private static ChatFinishReason Finish(FinishReason reason) =>
        reason is FinishReason.StopToken or FinishReason.StopString ? ChatFinishReason.Stop : ChatFinishReason.Length;

    private static UsageDetails Usage(GenerationStats s) =>
        new() { InputTokenCount = s.PromptTokens, OutputTokenCount = s.GeneratedTokens, TotalTokenCount = s.PromptTokens + s.GeneratedTokens };

    private static AdditionalPropertiesDictionary Speculated(GenerationOptions options, GenerationStats s) => new()
    {
        ["speculation.method"] = options.Speculation.Method,
        ["speculation.drafted"] = s.Drafted,
        ["speculation.accepted"] = s.Accepted,
        ["speculation.alpha"] = s.Alpha,
        ["speculation.tau"] = s.Tau,
        ["speculation.decode_tokens_per_second"] = s.DecodeTokensPerSecond,
    };
}
