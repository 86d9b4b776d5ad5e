using System.Diagnostics;
using System.Text;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tokenization;

namespace SpecDec.Generation;

/// <summary>
/// The decoding loop of one request, in one place:
/// <code>
/// prefill: run the prompt through the target in chunks; the last row's logits give the first token, committed
///          at once (it is "pending": the next forward runs it), so the first text is out after the target's prefill
/// then:    the proposer reads the prompt and the first token (a draft model prefills its own cache), before the
///          first round, so that time counts as prompt processing but comes after the first token
/// round:   propose a tree of k drafts after the committed tokens (a chain is a tree; k = 0 without a proposer)
///          one target forward over [pending, d₁ … d_k], each row seeing the cache and its ancestors → k + 1 logit rows
///          (plus the proposer's side rows, e.g. lookahead's Jacobi window, whose logits go back to it)
///          the verifier accepts a path d_i₁ … d_iₐ from the root and adds one token (correction or bonus)
///          keep the root and the path in the target cache, moved down to follow the committed tokens
///          (KeepRows); hand the proposer the path and, when it asked, the target's hidden states of its rows
///          commit the new tokens one by one, stopping at a stop token (a chat prompt's turn markers included),
///          stop string, max tokens or full context
/// </code>
/// Plain decoding is the same loop with no proposer. Buffers are sized up front: a round allocates nothing
/// but the string of text it returns.
/// </summary>
internal sealed class GenerationLoop
{
    private const int PrefillChunk = ForwardBatch.MaxRows;

    private readonly ILanguageModel _target;
    private readonly IKvCache _cache;
    private readonly IDraftProposer? _proposer;
    private readonly DraftLengthController? _draftLength;
    private readonly Sampler _sampler;
    private readonly Verifier _verifier;
    private readonly Xoshiro256StarStar _rng;
    private readonly int _vocab;
    private readonly int _limit;              // most committed tokens: prompt + max new tokens, ≤ context
    private readonly FinishReason _atLimit;   // MaxTokens, or ContextFull when no maximum was asked for
    private readonly SpeculationOptions _speculation;
    private readonly DraftTree? _tree;        // this round's draft, sized for the most nodes a round may draft
    private readonly int[] _tokens;           // [limit] committed tokens, then the accepted path and the next token
    private readonly int _maxSide;            // most side rows the proposer rides on a verification forward
    private readonly int[] _rowTokens;        // [nodes + 1 + side] a verification forward's tokens: the root, the tree's, the side rows
    private readonly int[] _parents;          // [nodes + 1 + side] its rows' parents (-1 for the root)
    private readonly int[] _positions;        // [rows] RoPE positions of a forward
    private readonly int[] _logitRows;        // [nodes + 1 + side] rows whose logits are wanted: every tree row, then the side rows asked for
    private readonly int[] _sideParents;      // [side] the proposer's side rows: parent (-1: the root) …
    private readonly int[] _sideWanted;       // [side] … and which of them it wants logits of
    private readonly int[] _path;             // [draft max] accepted nodes of a round
    private readonly int[] _keptRows;         // [draft max] their target cache rows
    private readonly int[] _hiddenRows;       // [draft max + 1] forward rows of the root and the path
    private readonly float[] _logits;         // [(nodes + 1 + side) × V] target logits of a verification forward
    private readonly int[] _hiddenLayers;     // the proposer's TargetLayers (empty: no hidden states are computed)
    private readonly float[] _hidden;         // [layers × rows × H] hidden states of a forward
    private readonly float[] _pathHidden;     // [layers × (draft max + 1) × H] those of the root and the accepted path
    private readonly StreamingDecoder _text;
    private readonly StopStringMatcher _stops;
    private readonly StringBuilder _roundText = new();
    private readonly RoundToken[] _roundTokens;  // [draft max + 1] the tokens of the latest round and where their text ends
    private int _roundCount;
    private readonly IReadOnlySet<int> _stopIds;
    private int _committed;

    /// <param name="cache">An empty cache of the target with capacity for at least the prompt plus max tokens.</param>
    /// <param name="cost">The target's verification cost curve, which caps adaptive draft lengths (<see cref="DraftLengthController"/>); null: no cap.</param>
    /// <param name="draftCost">A drafted token's cost in one-row target forwards.</param>
    public GenerationLoop(ILanguageModel target, IKvCache cache, IDraftProposer? proposer, ReadOnlySpan<int> prompt,
        GenerationOptions options, Verifier verifier, Sampler sampler, CostCurve? cost = null, double draftCost = 0)
    {
        _target = target;
        _cache = cache;
        _proposer = proposer;
        _sampler = sampler;
        _verifier = verifier;
        _vocab = target.Config.VocabSize;
        _limit = Limit(target, prompt.Length, options);
        _atLimit = options.MaxTokens is null ? Generation.FinishReason.ContextFull : Generation.FinishReason.MaxTokens;
        _rng = new Xoshiro256StarStar(options.Sampling.Seed ?? (ulong)Random.Shared.NextInt64());

        _speculation = options.Speculation;
        int draftMax = proposer is null ? 0 : _speculation.DraftMax;
        int nodes = proposer is null ? 0 : _speculation.MaxNodes;
        if (proposer is not null)
        {
            _draftLength = new DraftLengthController(_speculation.DraftMin, draftMax, cost, draftCost);
            _tree = new DraftTree(nodes, _vocab);
        }
        _tokens = new int[_limit];
        prompt.CopyTo(_tokens);
        _committed = prompt.Length;
        proposer?.Reset(new ProposalRequest(options.Sampling, _speculation, _limit, cache));
        _maxSide = Math.Min(proposer?.MaxSideRows ?? 0, ForwardBatch.MaxRows - 1 - nodes); // nodes < MaxRows (validated)
        int verifyRows = nodes + 1 + _maxSide;
        int rows = Math.Max(PrefillChunk, verifyRows);
        _rowTokens = new int[verifyRows];
        _parents = new int[verifyRows];
        _positions = new int[rows];
        _logitRows = new int[verifyRows];
        _sideParents = new int[_maxSide];
        _sideWanted = new int[_maxSide];
        _path = new int[draftMax];
        _keptRows = new int[draftMax];
        _hiddenRows = new int[draftMax + 1];
        _roundTokens = new RoundToken[draftMax + 1];
        _logits = new float[(long)verifyRows * _vocab];
        _hiddenLayers = proposer is null ? [] : proposer.TargetLayers.ToArray();
        int hiddenSize = target.Config.HiddenSize;
        _hidden = new float[(long)_hiddenLayers.Length * rows * hiddenSize];
        _pathHidden = new float[(long)_hiddenLayers.Length * (draftMax + 1) * hiddenSize];
        // A continuation: its first space is real text. Control tokens (BOS, chat markers) are not shown.
        _text = new StreamingDecoder(target.Tokenizer, skipSpecial: true, atTextStart: false);
        _stops = new StopStringMatcher(options.StopStrings);
        _stopIds = ChatTurnStops.For(target.Tokenizer, prompt);

        Stats = new GenerationStats
        {
            PromptTokens = prompt.Length,
            Lossy = options.Speculation.Typical.IsOn && !options.Speculation.IsNone && !options.Sampling.IsGreedy,
        };
        Stats.Begin(draftMax);
    }

    public GenerationStats Stats { get; }

    /// <summary>Set once generation has ended.</summary>
    public FinishReason? FinishReason { get; private set; }

    /// <summary>The committed tokens after the prompt.</summary>
    public ReadOnlySpan<int> Generated => _tokens.AsSpan(Stats.PromptTokens, _committed - Stats.PromptTokens);

    /// <summary>The tokens of the latest <see cref="Step"/> (or the prefill's end: the first token) in order, with their origins and where their text ends in what it returned.</summary>
    public ReadOnlySpan<RoundToken> RoundTokens => _roundTokens.AsSpan(0, _roundCount);

    /// <summary>
    /// How many tokens a request may commit in all; throws a <see cref="SpecDecException"/> when the prompt
    /// cannot fit with the requested new tokens.
    /// </summary>
    public static int Limit(ILanguageModel target, int promptLength, GenerationOptions options)
    {
        int context = target.Config.ContextLength;
        if (promptLength == 0) throw new SpecDecException("the prompt is empty: there is nothing to continue");
        if (promptLength >= context)
            throw new SpecDecException($"the prompt has {promptLength} tokens but the model's context holds {context}");
        if (options.MaxTokens is int max && (long)promptLength + max > context)
            throw new SpecDecException($"the prompt has {promptLength} tokens and {max} new tokens were asked for, but the model's context holds {context} (prompt + max tokens must fit)");
        return options.MaxTokens is int m ? promptLength + m : context;
    }

    /// <summary>
    /// Runs the prompt through the target, in chunks of at most <see cref="ForwardBatch.MaxRows"/> rows, and commits the
    /// first token from its last row; returns the text that token adds (may be empty; <see cref="RoundTokens"/> hold it).
    /// </summary>
    public string Prefill()
    {
        string? text;
        while ((text = PrefillStep()) is null) { }
        return text;
    }

    private int _prefilled;        // prompt tokens the target cache holds
    private bool _proposerRead;    // the proposer has read the context (or there is none)

    /// <summary>
    /// One chunk of <see cref="Prefill"/> (a scheduler interleaves a long prompt's chunks with other sequences'
    /// rounds): the next at most <see cref="ForwardBatch.MaxRows"/> prompt tokens through the target. Returns null
    /// while prompt tokens are left; the step that runs the last one commits the first token, drawn from that row's
    /// logits as a round with nothing drafted would draw it, and returns its text (may be empty), so a caller can
    /// show it before the proposer reads the prompt (the first round's start) and before any round; then "" with
    /// nothing run. <see cref="GenerationStats.PrefillMs"/> adds up the chunks' own times.
    /// </summary>
    public string? PrefillStep()
    {
        int end = Stats.PromptTokens;
        if (_prefilled == end) return "";
        long start = Stopwatch.GetTimestamp();
        int at = _prefilled;
        int rows = Math.Min(PrefillChunk, end - at);
        for (int i = 0; i < rows; i++) _positions[i] = at + i;
        // Only the last row's logits come back; those of the prompt's last token give the first token.
        _target.Forward(new ForwardBatch
        {
            Tokens = _tokens.AsSpan(at, rows), Positions = _positions.AsSpan(0, rows),
            HiddenLayers = _hiddenLayers, Hidden = _hidden,
        }, _cache, _logits);
        if (_hiddenLayers.Length > 0) _proposer!.TargetHidden(at, rows, _hidden.AsSpan(0, _hiddenLayers.Length * rows * _target.Config.HiddenSize));
        _prefilled += rows;
        if (_prefilled < end)
        {
            Stats.PrefillMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            return null;
        }
        var verdict = _verifier.Verify(_logits.AsSpan(0, _vocab), EmptyTree, _tokens, end, _path, _rng);
        string text = CommitRound(verdict, drafted: 0);
        Stats.PrefillMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        Stats.FirstTokenMs = Stats.PrefillMs;
        _proposerRead = _proposer is null || FinishReason is not null;
        return text;
    }

    /// <summary>
    /// The proposer's share of prompt processing, once, before the first round: it reads every committed token
    /// (the prompt and the first token). Timed as prefill; returns when it ended, where the round's time starts.
    /// </summary>
    private long ProposerPrefill(long roundStart)
    {
        _proposerRead = true;
        long start = Stopwatch.GetTimestamp();
        _proposer!.Prefill(_tokens.AsSpan(0, _committed));
        long end = Stopwatch.GetTimestamp();
        Stats.PrefillMs += Stopwatch.GetElapsedTime(start, end).TotalMilliseconds;
        return Math.Max(roundStart, end);
    }

    /// <summary>One round: propose, verify, accept, roll back, commit. Returns the text it adds (may be empty).</summary>
    public string Step()
    {
        return BeginRound(Stopwatch.GetTimestamp()) ? VerifyAlone() : "";
    }

    /// <summary>The rest of a round begun with <see cref="BeginRound"/>, its verification forward on its own.</summary>
    public string VerifyAlone()
    {
        long verifyStart = Stopwatch.GetTimestamp();
        _target.Forward(RoundBatch, _cache, _logits);
        return EndRound(_logits, verifyStart);
    }

    // The round in progress, between BeginRound and EndRound.
    private long _roundStart;
    private int _drafted, _side, _wanted, _treeRows, _rows;

    /// <summary>The target this loop generates with.</summary>
    public ILanguageModel Target => _target;

    /// <summary>The target cache of this sequence.</summary>
    public IKvCache Cache => _cache;

    /// <summary>
    /// Whether <see cref="RoundBatch"/> can ride in a forward with other sequences' rounds
    /// (<see cref="ILanguageModel.Forward(in ForwardBatch, ReadOnlySpan{SequenceRows}, Span{float})"/>): it asks for no hidden states.
    /// </summary>
    public bool Batchable => _hiddenLayers.Length == 0;

    /// <summary>
    /// The first half of a round, up to the verification forward: proposes and lays out <see cref="RoundBatch"/>.
    /// Returns false, doing nothing, once generation has ended. <paramref name="roundStart"/> is the timestamp the
    /// round's time counts from (a batch of rounds counts all from its start).
    /// </summary>
    public bool BeginRound(long roundStart)
    {
        if (!OpenRound(roundStart, out bool propose)) return false;
        if (propose) _proposer!.Propose(ProposalContext, _tree!, _rng);
        LayOutRound();
        return true;
    }

    /// <summary>
    /// <see cref="BeginRound"/> up to the proposal, for <see cref="BatchedRounds"/>, which may run several sessions'
    /// draft-model forwards together: returns false, doing nothing, once generation has ended; <paramref name="propose"/>
    /// tells whether the proposer is to propose now, after <see cref="ProposalContext"/> into <see cref="Tree"/> (cleared,
    /// its budget set) with <see cref="Rng"/>. Then <see cref="LayOutRound"/>.
    /// </summary>
    internal bool OpenRound(long roundStart, out bool propose)
    {
        propose = _proposing = false;
        if (FinishReason is not null)
        {
            _roundCount = 0;
            return false;
        }
        if (_prefilled < Stats.PromptTokens) throw new InvalidOperationException("the prompt must be prefilled before the first round");
        _roundStart = _proposerRead ? roundStart : ProposerPrefill(roundStart);

        // Propose: at most as deep as what may still be committed, minus the token the verifier always adds;
        // every node takes a cache row, so the tree fits in what is left of the cache too.
        int room = _limit - _committed - 1;
        _tree?.Clear(0);
        if (_proposer is null || room <= 0) return true;
        int depth = Math.Min(_draftLength!.Current, room);
        int budget = _speculation.Tree ? Math.Min(_speculation.TreeNodes, room) : depth;
        _tree!.Clear(budget, depth);
        propose = _proposing = true;
        return true;
    }

    private bool _proposing; // this round asked the proposer for a proposal

    /// <summary>This round's proposer (null: plain decoding).</summary>
    internal IDraftProposer? Proposer => _proposer;

    /// <summary>What a proposal follows: every committed token.</summary>
    internal ReadOnlySpan<int> ProposalContext => _tokens.AsSpan(0, _committed);

    /// <summary>This round's draft, after <see cref="OpenRound"/>.</summary>
    internal DraftTree? Tree => _tree;

    /// <summary>The request's random stream.</summary>
    internal Xoshiro256StarStar Rng => _rng;

    /// <summary>The rest of <see cref="BeginRound"/> once the proposal is in <see cref="Tree"/>: side rows and <see cref="RoundBatch"/>'s layout.</summary>
    internal void LayOutRound()
    {
        int n = _committed;
        int pending = n - 1;
        var tree = _tree;
        if (_proposing && _proposer!.ActiveMethod is string method) Stats.RecordMethod(method);
        int drafted = tree?.Count ?? 0;
        // Side rows: within the forward's row limit and the cache rows left after the tree's.
        int side = 0, wanted = 0;
        int sideRoom = Math.Min(_maxSide, _limit - n - drafted);
        if (sideRoom > 0)
            side = _proposer!.SideRows(_rowTokens.AsSpan(drafted + 1, sideRoom), _sideParents.AsSpan(0, sideRoom),
                _sideWanted.AsSpan(0, sideRoom), out wanted);

        // Verify every node in one target forward: row 0 the pending token at position n − 1, row i + 1 node i at
        // n − 1 + its depth, seeing the cache and its ancestors; the side rows after them likewise.
        int treeRows = drafted + 1;
        int rows = treeRows + side;
        _rowTokens[0] = _tokens[pending];
        if (drafted > 0)
        {
            tree!.Tokens.CopyTo(_rowTokens.AsSpan(1));
            tree.ForwardRows(pending, _parents, _positions);
        }
        else
        {
            _parents[0] = -1;
            _positions[0] = pending;
        }
        for (int i = 0; i < treeRows; i++) _logitRows[i] = i;
        for (int k = 0; k < side; k++)
        {
            int parent = _sideParents[k] < 0 ? 0 : treeRows + _sideParents[k];
            _parents[treeRows + k] = parent;
            _positions[treeRows + k] = _positions[parent] + 1;
        }
        for (int k = 0; k < wanted; k++) _logitRows[treeRows + k] = treeRows + _sideWanted[k];
        (_drafted, _side, _wanted, _treeRows, _rows) = (drafted, side, wanted, treeRows, rows);
    }

    /// <summary>
    /// This round's verification forward (after <see cref="BeginRound"/>): the pending token, the tree's nodes and
    /// the side rows; logits of every tree row, then of the side rows wanted.
    /// </summary>
    public ForwardBatch RoundBatch => new()
    {
        Tokens = _rowTokens.AsSpan(0, _rows),
        Positions = _positions.AsSpan(0, _rows),
        Parents = _side > 0 || (_drafted > 0 && !_tree!.IsChain) ? _parents.AsSpan(0, _rows) : default,
        LogitRows = _logitRows.AsSpan(0, _treeRows + _wanted),
        HiddenLayers = _hiddenLayers,
        Hidden = _hidden,
    };

    /// <summary>
    /// The second half of a round: verifies <paramref name="logits"/> (those of <see cref="RoundBatch"/>, whose forward
    /// started at <paramref name="verifyStart"/>), accepts, rolls back and commits. Returns the text it adds (may be empty).
    /// <paramref name="shared"/>: the forward held other sequences' rounds too (the proposer is told: its timing is not this round's).
    /// </summary>
    public string EndRound(ReadOnlySpan<float> logits, long verifyStart, bool shared = false)
    {
        int n = _committed;
        int pending = n - 1;
        var tree = _tree;
        int drafted = _drafted, side = _side, wanted = _wanted, treeRows = _treeRows, rows = _rows;
        Stats.DraftMs += Stopwatch.GetElapsedTime(_roundStart, verifyStart).TotalMilliseconds;
        var verdict = _verifier.Verify(logits, tree ?? EmptyTree, _tokens, n, _path, _rng);
        Stats.RecordRound(drafted, tree?.Depth ?? 0, verdict);

        // Accept: the verifier wrote the path's tokens and the correction or bonus after the committed ones. The
        // target cache keeps the root (row n − 1) and the path's rows; it has seen every committed token but the
        // new pending one.
        var path = _path.AsSpan(0, verdict.Accepted);
        for (int j = 0; j < path.Length; j++) _keptRows[j] = n + path[j];
        _cache.KeepRows(n, _keptRows.AsSpan(0, path.Length));
        long verifyEnd = Stopwatch.GetTimestamp();
        Stats.VerifyMs += Stopwatch.GetElapsedTime(verifyStart, verifyEnd).TotalMilliseconds;

        if (_proposer is not null)
        {
            if (_hiddenLayers.Length > 0)
            {
                // Rows of the root (0) and of the path's nodes (node + 1), in the order they are committed.
                _hiddenRows[0] = 0;
                for (int j = 0; j < path.Length; j++) _hiddenRows[j + 1] = path[j] + 1;
                _proposer.TargetHidden(pending, path.Length + 1, Gather(rows, _hiddenRows.AsSpan(0, path.Length + 1)));
            }
            if (side > 0) _proposer.SideLogits(logits.Slice(treeRows * _vocab, wanted * _vocab));
            if (shared) _proposer.SharedForward();
            _proposer.Accepted(path);
            _draftLength!.Observe(tree!.Depth, verdict.Accepted);
            Stats.TreeSize = _proposer.TreeSize;
            Stats.DraftMs += Stopwatch.GetElapsedTime(verifyEnd).TotalMilliseconds;
            Stats.RecordMethodTime(Stopwatch.GetElapsedTime(_roundStart).TotalMilliseconds);
        }

        string text = CommitRound(verdict, drafted);
        Stats.DecodeMs += Stopwatch.GetElapsedTime(_roundStart).TotalMilliseconds;
        return text;
    }

    /// <summary>
    /// Commits what the verifier wrote after the committed tokens (the accepted path, then the correction or bonus)
    /// one by one, until one ends generation; records their origins in <see cref="RoundTokens"/> and returns the text they add.
    /// </summary>
    private string CommitRound(Verdict verdict, int drafted)
    {
        int n = _committed;
        _roundText.Clear();
        _roundCount = 0;
        for (int i = 0; i <= verdict.Accepted && FinishReason is null; i++)
        {
            int token = _tokens[n + i];
            Commit(token);
            var origin = i < verdict.Accepted ? TokenOrigin.Accepted
                : drafted == 0 ? TokenOrigin.Plain
                : verdict.IsBonus ? TokenOrigin.Bonus : TokenOrigin.Correction;
            _roundTokens[_roundCount++] = new RoundToken(token, origin, _roundText.Length);
        }
        if (FinishReason is not null)
        {
            if (!_stops.Stopped) _stops.Push(_text.Flush(), _roundText);
            _stops.Flush(_roundText);
            // What the end released belongs to the round's last token.
            ref var last = ref _roundTokens[_roundCount - 1];
            last = last with { TextEnd = _roundText.Length };
            _proposer?.Finished(Generated);
        }
        return _roundText.Length == 0 ? "" : _roundText.ToString();
    }

    /// <summary>A tree with no nodes, verified in rounds without a proposer: the verifier then draws the bonus token.</summary>
    private static readonly DraftTree EmptyTree = new(1, 1);

    /// <summary>
    /// The verification forward's hidden states [layers × forwardRows × H] restricted to the rows
    /// <paramref name="keep"/>, in that order: [layers × keep.Length × H] in <see cref="_pathHidden"/>.
    /// </summary>
    private ReadOnlySpan<float> Gather(int forwardRows, ReadOnlySpan<int> keep)
    {
        int h = _target.Config.HiddenSize;
        int layers = _hiddenLayers.Length;
        for (int l = 0; l < layers; l++)
            for (int j = 0; j < keep.Length; j++)
                _hidden.AsSpan((l * forwardRows + keep[j]) * h, h).CopyTo(_pathHidden.AsSpan((l * keep.Length + j) * h));
        return _pathHidden.AsSpan(0, layers * keep.Length * h);
    }

    /// <summary>Makes <paramref name="token"/> part of the output, or ends generation on it.</summary>
    private void Commit(int token)
    {
        if (_stopIds.Contains(token))
        {
            FinishReason = Generation.FinishReason.StopToken;
            return;
        }
        _tokens[_committed++] = token;
        Stats.GeneratedTokens++;
        _stops.Push(_text.Push(token), _roundText);
        if (_stops.Stopped) FinishReason = Generation.FinishReason.StopString;
        else if (_committed == _limit) FinishReason = _atLimit;
    }
}
