using System.Runtime.CompilerServices;
using System.Text;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Generation;

/// <summary>
/// Generates continuations from a target model, speculating when the options ask for it with any method of
/// <see cref="SpeculationMethods"/> (a draft model is given here). Speculation changes the speed, never the
/// output distribution (greedy output is identical token for token). One request at a time per instance;
/// caches and proposers are reused across requests, and every setting of a request travels with it.
/// Several generators may share one loaded target (each has its own cache).
/// </summary>
public sealed class Generator
{
    private readonly ILanguageModel _target;
    private readonly ProposerContext _context;
    private readonly Dictionary<string, IDraftProposer> _proposers = []; // by method name, built on first use
    private IKvCache? _cache;
    private int _busy;


    /// <summary>
    /// Throws a <see cref="SpecDecException"/> when <paramref name="draftModel"/> does not share the
    /// target's tokenizer. <paramref name="heads"/> (EAGLE, Medusa) were checked against the target when loaded.
    /// </summary>
    public Generator(ILanguageModel target, ILanguageModel? draftModel = null, DraftHeads? heads = null)
    {
        _target = target;
        if (draftModel is not null) DraftModelProposer.EnsureCompatible(target, draftModel);
        _context = new ProposerContext(target, draftModel, heads);
    }

    /// <summary>Forwards of 1 … this many rows are run by <see cref="WarmUp"/>: every pass length of the packed matmul kernels.</summary>
    private const int WarmUpRows = 7;

    /// <summary>
    /// Runs once every code path that requests with <paramref name="options"/> take, so the first request
    /// runs at full speed: the JIT compiles each kernel on its first call (about 0.1 s for the demo models, as
    /// much as 200 tokens of decoding), which would otherwise land in that request's prefill and decode
    /// times. llama.cpp warms up at load for the same reason. It runs forwards of 1 … 7 rows through the
    /// target (and 1 … 2 through a draft model), then a 4-token generation of a repetitive prompt that makes
    /// prompt lookup fire; about 20 target steps in all. Outputs of later requests are unchanged.
    /// </summary>
    public void WarmUp(GenerationOptions options)
    {
        options.Validate();
        Touch(_target, WarmUpRows);
        if (options.Speculation.Method == SpeculationMethods.DraftModel && _context.DraftModel is not null) Touch(_context.DraftModel, 2);

        var prompt = new int[16];
        for (int i = 0; i < prompt.Length; i++) prompt[i] = (3 + i % 4) % _target.Config.VocabSize;
        int maxTokens = Math.Min(4, _target.Config.ContextLength - prompt.Length);
        if (maxTokens < 1) return;
        Generate(prompt, options with { MaxTokens = maxTokens, StopStrings = [] });
    }

    /// <summary>Forwards of 1 … <paramref name="rows"/> rows, every row's logits wanted, through a throwaway cache.</summary>
    private static void Touch(ILanguageModel model, int rows)
    {
        rows = Math.Min(rows, model.Config.ContextLength);
        var tokens = new int[rows];
        var positions = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            tokens[i] = (3 + i) % model.Config.VocabSize;
            positions[i] = i;
        }
        var logits = new float[(long)rows * model.Config.VocabSize];
        IKvCache cache = model.CreateCache(rows);
        try
        {
            for (int t = 1; t <= rows; t++)
            {
                cache.Rollback(0);
                model.Forward(new ForwardBatch { Tokens = tokens.AsSpan(0, t), Positions = positions.AsSpan(0, t), LogitRows = positions.AsSpan(0, t) },
                    cache, logits);
            }
        }
        finally
        {
            (cache as IDisposable)?.Dispose();
        }
    }

    public ILanguageModel Target => _target;

    /// <summary>Builds the verifier of a request; tests swap in a deliberately wrong one.</summary>
    internal Func<Sampler, TypicalAcceptance, Verifier> CreateVerifier { get; init; } = (sampler, typical) => new Verifier(sampler, typical);

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
            string piece = loop.Prefill();
            while (true)
            {
                if (piece.Length > 0)
                {
                    text.Append(piece);
                    onText?.Invoke(piece);
                }
                if (loop.FinishReason is not null) break;
                cancellationToken.ThrowIfCancellationRequested();
                piece = loop.Step();
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
            string piece = loop.Prefill();
            while (true)
            {
                if (piece.Length > 0) yield return new GenerationChunk(piece);
                if (loop.FinishReason is not null) break;
                cancellationToken.ThrowIfCancellationRequested();
                piece = loop.Step();
            }
            yield return new GenerationChunk("", loop.FinishReason, loop.Stats);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Starts a request that the caller drives round by round (<see cref="GenerationSession.Prefill"/>, then
    /// <see cref="GenerationSession.Step"/> until it finishes); the generator is busy until the session is disposed.
    /// Throws a <see cref="SpecDecException"/> for a request that cannot run (prompt too long, options out of range).
    /// </summary>
    public GenerationSession Begin(ReadOnlySpan<int> prompt, GenerationOptions options)
    {
        Enter();
        try
        {
            return new GenerationSession(Start(prompt, options), Exit);
        }
        catch
        {
            Exit();
            throw;
        }
    }

    private int[] Encode(string prompt, GenerationOptions options) =>
        _target.Tokenizer.Encode(prompt, addSpecial: options.AddSpecialTokens, parseSpecial: true);

    /// <summary>Validates the request and sets up its loop, reusing the cache and proposers.</summary>
    internal GenerationLoop Start(ReadOnlySpan<int> prompt, GenerationOptions options)
    {
        options.Validate();
        int limit = GenerationLoop.Limit(_target, prompt.Length, options);
        CheckMemory(limit, options);
        // A reused cache restarts at this request's limit, which picks a LongRoPE model's table for all its positions.
        if (_cache is null || _cache.Capacity < limit) _cache = _target.CreateCache(limit);
        else _cache.Restart(limit);

        var sampler = new Sampler(options.Sampling, _target.Config.VocabSize);
        SpeculationOptions s = options.Speculation;
        CostCurve? cost = s.DraftMin < s.DraftMax && !s.Tree && s.Method != SpeculationMethods.None ? VerifyCost(s) : null;
        double draftCost = cost is not null && s.Method == SpeculationMethods.DraftModel && _context.DraftModel is { } draft
            ? CostCurve.Of(draft, 1).OneRowMs / cost.OneRowMs
            : 0;
        return new GenerationLoop(_target, _cache, Proposer(s), prompt, options, CreateVerifier(sampler, options.Speculation.Typical), sampler, cost, draftCost);
    }

    /// <summary>
    /// The target's verification cost curve for the <see cref="DraftLengthController"/>, measured once per loaded
    /// model at the first request that adapts its draft length (<see cref="CostCurve.Of"/>). Null where a forward is
    /// too short to time (a toy model): the length heuristic alone then.
    /// </summary>
    private CostCurve? VerifyCost(SpeculationOptions s)
    {
        CostCurve cost = CostCurve.Of(_target, s.DraftMax + 1);
        return cost.OneRowMs < CostCurve.MeasurableMs ? null : cost;
    }

    /// <summary>
    /// The worst case of a request of <paramref name="limit"/> tokens, refused before anything is allocated: the
    /// target's and the draft model's caches grown to the limit, and the loop's token buffer.
    /// </summary>
    private void CheckMemory(int limit, GenerationOptions options)
    {
        long bytes = _target.CacheBytes(limit) + (long)limit * sizeof(int);
        ILanguageModel? draft = _context.DraftModel;
        if (draft is not null && SpeculationMethods.Get(options.Speculation.Method).NeedsDraftModel)
            bytes += draft.CacheBytes(Math.Min(limit, draft.Config.ContextLength));
        MemoryBudget.Check(bytes, $"a request of up to {limit} tokens (prompt + max tokens) for its KV caches", options.MaxMemoryBytes);
    }

    /// <summary>The request's proposer from the registry, built once per method and reused.</summary>
    private IDraftProposer? Proposer(SpeculationOptions speculation)
    {
        var method = SpeculationMethods.Get(speculation.Method);
        if (method.Create is null) return null;
        if (!_proposers.TryGetValue(method.Name, out var proposer))
            _proposers[method.Name] = proposer = method.Create(_context);
        return proposer;
    }

    /// <summary>
    /// Makes every proposer forget what it learned from earlier requests (retrieval's in-process store), so the
    /// next request starts as in a fresh process; e.g. between benchmark runs of the same items.
    /// </summary>
    public void Forget()
    {
        foreach (var proposer in _proposers.Values) proposer.Forget();
    }

    /// <summary>The proposer built for <paramref name="method"/>, building it now if no request has used it yet; null for plain decoding.</summary>
    public IDraftProposer? ProposerFor(string method) => Proposer(SpeculationOptions.None with { Method = method });

    private void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) == 1)
            throw new InvalidOperationException("a Generator runs one request at a time; create one per concurrent request");
    }

    private void Exit() => Volatile.Write(ref _busy, 0);
}
