using System.Runtime.CompilerServices;
using System.Text;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Generation;

/// <summary>
/// Generates continuations from a target model, speculating when the options ask for it: with a draft
/// model given here, or with prompt lookup. Speculation changes the speed, never the output distribution
/// (greedy output is identical token for token). One request at a time per instance; caches and proposers
/// are reused across requests.
/// </summary>
public sealed class Generator
{
    private readonly ILanguageModel _target;
    private readonly DraftModelProposer? _draftProposer;
    private PromptLookupProposer? _lookup;
    private (int Min, int Max) _lookupSizes;
    private IKvCache? _cache;
    private int _busy;

    /// <summary>
    /// Throws a <see cref="SpecDecException"/> when <paramref name="draftModel"/> does not share the
    /// target's tokenizer.
    /// </summary>
    public Generator(ILanguageModel target, ILanguageModel? draftModel = null)
    {
        _target = target;
        if (draftModel is not null) _draftProposer = new DraftModelProposer(draftModel, target);
    }

    public ILanguageModel Target => _target;

    /// <summary>Builds the verifier of a request; tests swap in a deliberately wrong one.</summary>
    internal Func<Sampler, Verifier> CreateVerifier { get; init; } = sampler => new Verifier(sampler);

    /// <summary>Generates a continuation of <paramref name="prompt"/>, calling <paramref name="onText"/> with each new piece of text.</summary>
    public GenerationResult Generate(string prompt, GenerationOptions? options = null, Action<string>? onText = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        return Generate(Encode(prompt, options), options, onText, cancellationToken);
    }

    /// <summary>Generates a continuation of the prompt token ids.</summary>
    public GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions? options = null, Action<string>? onText = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        Enter();
        try
        {
            var loop = Start(prompt, options);
            var text = new StringBuilder();
            loop.Prefill();
            while (loop.FinishReason is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string piece = loop.Step();
                if (piece.Length == 0) continue;
                text.Append(piece);
                onText?.Invoke(piece);
            }
            return new GenerationResult(text.ToString(), loop.Generated.ToArray(), loop.FinishReason.Value, loop.Stats);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Streams the continuation of <paramref name="prompt"/>; the last chunk carries the finish reason and
    /// statistics. The work runs synchronously inside each MoveNextAsync, after one initial hop off the
    /// caller's context.
    /// </summary>
    public IAsyncEnumerable<GenerationChunk> GenerateAsync(string prompt, GenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        return GenerateAsync(Encode(prompt, options), options, cancellationToken);
    }

    /// <summary>Streams the continuation of the prompt token ids.</summary>
    public async IAsyncEnumerable<GenerationChunk> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        await Task.Yield();
        Enter();
        try
        {
            var loop = Start(prompt.Span, options);
            loop.Prefill();
            while (loop.FinishReason is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string piece = loop.Step();
                if (piece.Length > 0) yield return new GenerationChunk(piece);
            }
            yield return new GenerationChunk("", loop.FinishReason, loop.Stats);
        }
        finally
        {
            Exit();
        }
    }

    private int[] Encode(string prompt, GenerationOptions options) =>
        _target.Tokenizer.Encode(prompt, addSpecial: options.AddSpecialTokens, parseSpecial: true);

    /// <summary>Validates the request and sets up its loop, reusing the cache and proposers.</summary>
    internal GenerationLoop Start(ReadOnlySpan<int> prompt, GenerationOptions options)
    {
        options.Validate();
        int limit = GenerationLoop.Limit(_target, prompt.Length, options);
        if (_cache is null || _cache.Capacity < limit) _cache = _target.CreateCache(limit);
        else _cache.Rollback(0);

        var sampler = new Sampler(options.Sampling, _target.Config.VocabSize);
        return new GenerationLoop(_target, _cache, Proposer(options.Speculation), prompt, options, CreateVerifier(sampler), sampler);
    }

    private IDraftProposer? Proposer(SpeculationOptions speculation)
    {
        switch (speculation.Method)
        {
            case SpeculationMethod.None:
                return null;
            case SpeculationMethod.DraftModel:
                if (_draftProposer is null)
                    throw new SpecDecException("speculation with a draft model needs a draft model (--draft-model)");
                _draftProposer.PMin = speculation.DraftPMin;
                return _draftProposer;
            case SpeculationMethod.PromptLookup:
                if (_lookup is null || _lookupSizes != (speculation.NgramMin, speculation.NgramMax))
                {
                    _lookup = new PromptLookupProposer(speculation.NgramMin, speculation.NgramMax);
                    _lookupSizes = (speculation.NgramMin, speculation.NgramMax);
                }
                return _lookup;
            default:
                throw new SpecDecException($"unknown speculation method {speculation.Method}");
        }
    }

    private void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) == 1)
            throw new InvalidOperationException("a Generator runs one request at a time; create one per concurrent request");
    }

    private void Exit() => Volatile.Write(ref _busy, 0);
}
