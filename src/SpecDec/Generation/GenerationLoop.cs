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
/// prefill: run prompt[0 .. N−1) through the target in chunks (the last prompt token is "pending"), and let
///          the proposer read the prompt (a draft model prefills its own cache)
/// round:   propose k drafts after the committed tokens (k = 0 without a proposer)
///          one target forward over [pending, d₁ … d_k] → k + 1 logit rows
///          the verifier keeps d₁ … d_a and adds one token (correction or bonus)
///          roll the target cache back to the committed tokens minus the new pending one;
///          the proposer rolls back its own state
///          commit the new tokens one by one, stopping at a stop token (a chat prompt's turn markers included),
///          stop string, max tokens or full context
/// </code>
/// Plain decoding is the same loop with no proposer. Buffers are sized up front: a round allocates nothing
/// but the string of text it returns.
/// </summary>
internal sealed class GenerationLoop
{
    private const int PrefillChunk = 64;

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
    private readonly int[] _tokens;           // [limit] committed tokens, then this round's drafts
    private readonly int[] _positions;        // [rows] RoPE positions of a forward
    private readonly int[] _rowIndex;         // [rows] 0, 1, 2, …: every row's logits are wanted when verifying
    private readonly float[] _logits;         // [(draft max + 1) × V] target logits of a verification forward
    private readonly float[] _q;              // [draft max × V] draft distributions
    private readonly StreamingDecoder _text;
    private readonly StopStringMatcher _stops;
    private readonly StringBuilder _roundText = new();
    private readonly IReadOnlySet<int> _stopIds;
    private int _committed;

    /// <param name="cache">An empty cache of the target with capacity for at least the prompt plus max tokens.</param>
    public GenerationLoop(ILanguageModel target, IKvCache cache, IDraftProposer? proposer, ReadOnlySpan<int> prompt,
        GenerationOptions options, Verifier verifier, Sampler sampler)
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

        int draftMax = proposer is null ? 0 : options.Speculation.DraftMax;
        if (proposer is not null) _draftLength = new DraftLengthController(options.Speculation.DraftMin, draftMax);
        _tokens = new int[_limit];
        prompt.CopyTo(_tokens);
        _committed = prompt.Length;
        int rows = Math.Max(PrefillChunk, draftMax + 1);
        _positions = new int[rows];
        _rowIndex = new int[rows];
        for (int i = 0; i < rows; i++) _rowIndex[i] = i;
        _logits = new float[(draftMax + 1) * _vocab];
        _q = new float[draftMax * _vocab];
        // A continuation: its first space is real text. Control tokens (BOS, chat markers) are not shown.
        _text = new StreamingDecoder(target.Tokenizer, skipSpecial: true, atTextStart: false);
        _stops = new StopStringMatcher(options.StopStrings);
        _stopIds = ChatTurnStops.For(target.Tokenizer, prompt);

        Stats = new GenerationStats { PromptTokens = prompt.Length };
        Stats.Begin(draftMax);
        proposer?.Reset(options.Sampling, _limit);
    }

    public GenerationStats Stats { get; }

    /// <summary>Set once generation has ended.</summary>
    public FinishReason? FinishReason { get; private set; }

    /// <summary>The committed tokens after the prompt.</summary>
    public ReadOnlySpan<int> Generated => _tokens.AsSpan(Stats.PromptTokens, _committed - Stats.PromptTokens);

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
    /// Runs all prompt tokens but the last through the target, in chunks of at most 64 rows, then lets the
    /// proposer read the prompt too (a draft model's own prefill), so both count as prompt processing.
    /// </summary>
    public void Prefill()
    {
        long start = Stopwatch.GetTimestamp();
        for (int at = 0; at < _committed - 1; at += PrefillChunk)
        {
            int rows = Math.Min(PrefillChunk, _committed - 1 - at);
            for (int i = 0; i < rows; i++) _positions[i] = at + i;
            // Only the last row's logits come back, and they are not needed: the first round recomputes them.
            _target.Forward(ForwardBatch.Causal(_tokens.AsSpan(at, rows), _positions.AsSpan(0, rows)), _cache, _logits);
        }
        _proposer?.Prefill(_tokens.AsSpan(0, _committed));
        Stats.PrefillMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>One round: propose, verify, accept, roll back, commit. Returns the text it adds (may be empty).</summary>
    public string Step()
    {
        if (FinishReason is not null) return "";
        long roundStart = Stopwatch.GetTimestamp();
        int n = _committed;
        int pending = n - 1;

        // Propose: at most what may still be committed, minus the token the verifier always adds.
        int room = _limit - n - 1;
        var proposal = DraftProposal.Empty;
        if (_proposer is not null && room > 0)
        {
            int k = Math.Min(_draftLength!.Current, room);
            proposal = _proposer.Propose(_tokens.AsSpan(0, n), _tokens.AsSpan(n, k), _q, _rng);
        }
        int drafted = proposal.Count;
        long verifyStart = Stopwatch.GetTimestamp();
        Stats.DraftMs += Stopwatch.GetElapsedTime(roundStart, verifyStart).TotalMilliseconds;

        // Verify every draft in one target forward: rows [pending, d₁ … d_k] at positions n−1 … n−1+k.
        int rows = drafted + 1;
        for (int i = 0; i < rows; i++) _positions[i] = pending + i;
        var batch = new ForwardBatch
        {
            Tokens = _tokens.AsSpan(pending, rows),
            Positions = _positions.AsSpan(0, rows),
            LogitRows = _rowIndex.AsSpan(0, rows),
        };
        _target.Forward(batch, _cache, _logits);
        var verdict = _verifier.Verify(_logits, _tokens.AsSpan(0, n + drafted), n, drafted, proposal.HasDistributions, _q, _rng);
        Stats.RecordRound(drafted, verdict);

        // Accept: d₁ … d_a are already in place; the correction or bonus follows them. The target has seen
        // every committed token but the new pending one.
        _tokens[n + verdict.Accepted] = verdict.Token;
        _cache.Rollback(n + verdict.Accepted);
        long verifyEnd = Stopwatch.GetTimestamp();
        Stats.VerifyMs += Stopwatch.GetElapsedTime(verifyStart, verifyEnd).TotalMilliseconds;

        if (_proposer is not null)
        {
            _proposer.Accepted(verdict.Accepted);
            _draftLength!.Observe(drafted, verdict.Accepted);
            Stats.DraftMs += Stopwatch.GetElapsedTime(verifyEnd).TotalMilliseconds;
        }

        _roundText.Clear();
        for (int i = 0; i <= verdict.Accepted && FinishReason is null; i++) Commit(_tokens[n + i]);
        if (FinishReason is not null)
        {
            if (!_stops.Stopped) _stops.Push(_text.Flush(), _roundText);
            _stops.Flush(_roundText);
        }
        Stats.DecodeMs += Stopwatch.GetElapsedTime(roundStart).TotalMilliseconds;
        return _roundText.Length == 0 ? "" : _roundText.ToString();
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
