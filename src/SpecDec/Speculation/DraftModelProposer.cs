using System.Numerics.Tensors;
using SpecDec.Model;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// Drafts with an independent smaller model that shares the target's tokenizer. Its own KV cache always
/// holds a prefix of the committed context (with a window, its first tokens and the latest
/// ones, each at its own position): <see cref="Prefill"/> feeds the prompt but its last token, after a round
/// the cache is rolled back to the accepted tokens, and each round first feeds what it has not seen (the
/// correction or bonus token; in the first round the last prompt token) in the same forward that yields the
/// first draft's logits. Each draft token is drawn from the
/// draft's distribution q under the verifier's sampling options; drafting stops early when the draft's own
/// top probability falls below p-min (in greedy mode q is one-hot, so confidence is measured on the raw
/// softmax at temperature 1).
/// </summary>
public sealed class DraftModelProposer : IStepwiseDrafter
{
    private const int MaxChunk = ForwardBatch.MaxRows;

    private readonly ILanguageModel _draft;
    private readonly int _targetVocab;   // width of q rows
    private readonly int _sharedVocab;   // ids both models score: the draft samples only among these
    private readonly float[] _logits;    // [draft V] logits of the last row fed
    private readonly float[] _softmax;   // [shared V] scratch for the confidence test
    private readonly int[] _feedTokens = new int[MaxChunk];     // [_feedCount] rows staged for the next forward …
    private readonly int[] _positions = new int[MaxChunk];      // [_feedCount] … at these positions
    private int _feedCount;
    private int[] _history = [];         // [window + draft-max] recent context then drafts, for penalties
    private Sampler? _sampler;
    private IKvCache? _cache;
    private int _proposedAt;             // context length of the last proposal
    private int _skip;                   // context tokens left out of the draft's cache (see _window)

    /// <summary>Checks that <paramref name="draft"/> can draft for <paramref name="target"/> (see
    /// <see cref="EnsureCompatible"/>).</summary>
    public DraftModelProposer(ILanguageModel draft, ILanguageModel target)
    {
        EnsureCompatible(target, draft);
        _draft = draft;
        _targetVocab = target.Config.VocabSize;
        _sharedVocab = Math.Min(draft.Config.VocabSize, _targetVocab);
        _logits = new float[draft.Config.VocabSize];
        _softmax = new float[_sharedVocab];
    }

    /// <summary>
    /// Refuses a draft whose token ids mean something else than the target's: vocabulary size, every token's
    /// text, BOS and EOS must agree. Throws a <see cref="SpecDecException"/> saying what differs.
    /// </summary>
    public static void EnsureCompatible(ILanguageModel target, ILanguageModel draft)
    {
        var t = target.Tokenizer;
        var d = draft.Tokenizer;
        if (t.VocabSize != d.VocabSize)
            throw new SpecDecException($"the draft model's vocabulary has {d.VocabSize} tokens but the target's has {t.VocabSize}; speculation needs the same tokenizer");
        if (t.BosId != d.BosId)
            throw new SpecDecException($"the draft model's BOS id is {Show(d.BosId)} but the target's is {Show(t.BosId)}");
        if (t.EosId != d.EosId)
            throw new SpecDecException($"the draft model's EOS id is {Show(d.EosId)} but the target's is {Show(t.EosId)}");
        if (draft.Config.VocabSize < t.VocabSize || target.Config.VocabSize < t.VocabSize)
            throw new SpecDecException($"a model scores fewer ids than its tokenizer has (draft {draft.Config.VocabSize}, target {target.Config.VocabSize}, tokenizer {t.VocabSize})");
        for (int id = 0; id < t.VocabSize; id++)
        {
            string a = t.TokenText(id), b = d.TokenText(id);
            if (a != b)
                throw new SpecDecException($"token {id} is \"{a}\" in the target's vocabulary but \"{b}\" in the draft's; speculation needs the same tokenizer");
        }
    }

    /// <summary>Stop drafting when the draft's top probability (softmax at T = 1) falls below this; 0 never stops.
    /// The request's <see cref="SpeculationOptions.DraftPMin"/>.</summary>
    private float _pMin;

    /// <summary>
    /// The most recent context tokens the draft reads, besides the first <see cref="SinkTokens"/>; 0 reads the
    /// whole context (the request's <see cref="SpeculationOptions.DraftContext"/>). A long prompt then costs the
    /// draft a prefill of this many tokens instead of all of them, and each draft step attends over that many.
    /// Which tokens the draft sees changes only what it proposes: the target verifies as before.
    /// </summary>
    private int _window;

    /// <summary>
    /// Context tokens from the start that stay visible with a window: models park attention on the
    /// first tokens (BOS above all), and lose quality without them (Xiao et al. 2023, "attention sinks").
    /// </summary>
    public const int SinkTokens = 4;

    private static string Show(int? id) => id?.ToString() ?? "none";

    public void Reset(in ProposalRequest request)
    {
        SamplingOptions sampling = request.Sampling;
        int capacity = request.Capacity;
        _pMin = request.Speculation.DraftPMin;
        _window = request.Speculation.DraftContext;
        _sampler = _sampler is not null && _sampler.Options == sampling ? _sampler : new Sampler(sampling, _sharedVocab);
        capacity = Math.Min(capacity, _draft.Config.ContextLength);
        if (_cache is null || _cache.Capacity < capacity) _cache = _draft.CreateCache(capacity);
        else _cache.Restart(capacity); // a LongRoPE draft's table follows this request's limit, as the target's does
        int historyLength = PenaltyWindow(sampling, capacity) + SpeculationOptions.MaxVerifyRows;
        if (_history.Length < historyLength) _history = new int[historyLength];
        _proposedAt = 0;
        _skip = 0;
    }

    /// <summary>Drafts a chain, each token drawn from its own q (with replacement, one child per node).</summary>
    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        if (!BeginPropose(context, tree, rng)) return;
        do RunStaged();
        while (ContinuePropose(_logits));
    }

    // The proposal in progress, between BeginPropose and the ContinuePropose that ends it.
    private DraftTree? _tree;
    private Xoshiro256StarStar? _rng;
    private int _count, _produced, _penaltyWindow;

    ILanguageModel IStepwiseDrafter.DraftModel => _draft;
    IKvCache IStepwiseDrafter.DraftCache => _cache ?? throw new InvalidOperationException("Reset must be called first");
    ReadOnlySpan<int> IStepwiseDrafter.FeedTokens => FeedTokens;
    ReadOnlySpan<int> IStepwiseDrafter.FeedPositions => FeedPositions;
    bool IStepwiseDrafter.BeginPropose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng) => BeginPropose(context, tree, rng);
    bool IStepwiseDrafter.ContinuePropose(ReadOnlySpan<float> logits) => ContinuePropose(logits);

    private ReadOnlySpan<int> FeedTokens => _feedTokens.AsSpan(0, _feedCount);
    private ReadOnlySpan<int> FeedPositions => _positions.AsSpan(0, _feedCount);

    private bool BeginPropose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        if (_cache is null || _sampler is null) throw new InvalidOperationException("Reset must be called before Propose");
        int n = context.Length;
        _proposedAt = n;
        _feedCount = 0;
        if (_cache.Length == 0) StartWindow(n);
        // The cache will hold the context plus all drafts but the last.
        int count = Math.Min(tree.MaxDepth, _cache.Capacity - RowOf(n) + 1); // a chain: as deep as the round allows
        if (count <= 0) return false;
        tree.Draws = SiblingDraws.WithReplacement;
        (_tree, _rng, _count, _produced) = (tree, rng, count, 0);

        // Penalties look at the recent context followed by the drafts so far.
        _penaltyWindow = PenaltyWindow(_sampler.Options, n);
        context[(n - _penaltyWindow)..].CopyTo(_history);

        // Catch up: feed the committed tokens the cache has not seen; the logits after the last one predict the
        // first draft token. The last committed token must be fed even if the cache already holds it.
        if (PositionAfter(_cache.Length) >= n) _cache.Rollback(RowOf(n - 1));
        StageUpTo(context, n);
        return _feedCount > 0 || ContinuePropose(_logits);
    }

    private bool ContinuePropose(ReadOnlySpan<float> logits)
    {
        _feedCount = 0;
        var tree = _tree!;
        var row = logits[.._sharedVocab];
        if (_pMin > 0 && TopProbability(row) < _pMin) return false;
        int qIndex = tree.NewQRow(out Span<float> qRow);
        int window = _penaltyWindow, produced = _produced;
        int best = _sampler!.Distribution(row, _history.AsSpan(0, window + produced), qRow);
        qRow[_sharedVocab..].Clear();
        int token = _sampler.Options.IsGreedy ? best : Sampler.Sample(qRow[.._sharedVocab], _rng!);
        tree.Add(produced - 1, token, qIndex);
        _history[window + produced] = token;
        _produced = ++produced;
        if (produced == _count) return false;
        // The draft token just drawn, fed back for the next one's logits.
        _feedTokens[0] = token;
        _positions[0] = _proposedAt + produced - 1;
        _feedCount = 1;
        return true;
    }

    public void Prefill(ReadOnlySpan<int> prompt)
    {
        if (_cache is null) throw new InvalidOperationException("Reset must be called before Prefill");
        if (prompt.Length < 2) return;
        StartWindow(prompt.Length);
        StageUpTo(prompt, prompt.Length - 1);
        RunStaged();
    }

    /// <summary>Which context tokens the draft skips, fixed when its cache starts on a context of <paramref name="n"/> tokens.</summary>
    private void StartWindow(int n) => _skip = SkipFor(n);

    private int SkipFor(int n) => _window > 0 && n - SinkTokens > _window ? n - SinkTokens - _window : 0;

    /// <summary>
    /// Committed tokens a proposal after <paramref name="context"/> tokens reads before its first draft step, besides
    /// the last one (which rides in that step's forward): with an empty cache the prompt (with a window, its first and
    /// latest tokens), else what was committed since the cache's end (another source drafted meanwhile, as auto's do).
    /// </summary>
    internal int UnreadRows(int context)
    {
        if (_cache is null || context < 2) return 0;
        if (_cache.Length == 0) return context - 1 - SkipFor(context);
        return Math.Max(0, context - 1 - PositionAfter(_cache.Length));
    }

    /// <summary>The proposal was a chain, so the accepted path is its first path.Length nodes.</summary>
    public void Accepted(ReadOnlySpan<int> path)
    {
        if (_cache is null) return;
        // The cache holds the proposal's context and the drafts fed back; keep the accepted ones.
        _cache.Rollback(Math.Min(_cache.Length, RowOf(_proposedAt + path.Length)));
    }

    /// <summary>The cache row that holds context position <paramref name="position"/> (or would hold it next).</summary>
    private int RowOf(int position) => position < SinkTokens ? position : position - _skip;

    /// <summary>The context position the next cache row holds when the cache has <paramref name="rows"/> rows.</summary>
    private int PositionAfter(int rows) => rows < SinkTokens ? rows : rows + _skip;

    /// <summary>
    /// Feeds the context positions from the cache's end up to <paramref name="end"/>, leaving out the skipped ones,
    /// in chunks at their own RoPE positions; the last chunk is only staged (<see cref="FeedTokens"/>), for the caller
    /// to run alone (<see cref="RunStaged"/>) or with other sequences' rows.
    /// </summary>
    private void StageUpTo(ReadOnlySpan<int> context, int end)
    {
        int start = PositionAfter(_cache!.Length);
        if (start < SinkTokens && _skip > 0)
        {
            Stage(context, start, SinkTokens);
            start = SinkTokens + _skip;
        }
        Stage(context, start, end);
    }

    /// <summary>Stages context positions [start, end) chunk by chunk, running each staged chunk once another follows it.</summary>
    private void Stage(ReadOnlySpan<int> context, int start, int end)
    {
        while (start < end)
        {
            RunStaged();
            int rows = Math.Min(MaxChunk, end - start);
            context.Slice(start, rows).CopyTo(_feedTokens);
            for (int i = 0; i < rows; i++) _positions[i] = start + i;
            _feedCount = rows;
            start += rows;
        }
    }

    /// <summary>Runs the staged rows through the draft alone; <see cref="_logits"/> then holds the last row's.</summary>
    private void RunStaged()
    {
        if (_feedCount == 0) return;
        _draft.Forward(ForwardBatch.Causal(FeedTokens, FeedPositions), _cache!, _logits);
        _feedCount = 0;
    }

    /// <summary>How many context tokens the sampler's repetition penalty can see.</summary>
    private static int PenaltyWindow(SamplingOptions sampling, int available) =>
        sampling.RepetitionPenalty == 1f ? 0 : Math.Min(sampling.RepetitionWindow, available);

    /// <summary>The draft's top probability at temperature 1: 1 / Σ exp(l − max).</summary>
    private float TopProbability(ReadOnlySpan<float> logits)
    {
        float max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, _softmax);
        TensorPrimitives.Exp(_softmax, _softmax);
        return 1f / TensorPrimitives.Sum(_softmax);
    }
}
