using System.Diagnostics;
using SpecDec.Model;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// `auto`: chooses how to draft for the user, every round anew, among the sources that need nothing the user
/// must pick: a copy of an earlier match in the request (prompt lookup), retrieval (the request, the datastore and
/// earlier answers: <see cref="RestProposer"/>), the draft model when one is loaded, and plain decoding. Copy
/// sources are cheap to consult, so each round first looks at what they would propose and how long a match found
/// it; then it takes the source with the most expected tokens per unit of target time:
/// <code>
///   rate = t·E ÷ (c(rows) + k·d + u·r·min(1, t·E ÷ left))      plain decoding: 1 token per c(1) = 1
/// </code>
/// with c the target's verification cost curve, learned from the rounds auto times itself (<see cref="LearnedCostCurve"/>),
/// d a draft-model token's measured cost in one-row rounds (0 for copies), u the tokens the draft model has to read
/// before it drafts (what other sources committed since its last round) and r what reading one in a batch costs, spread
/// over the tokens the request usually has left (0 for copies), k the chain's length (a copy is cut where
/// more tokens stop paying; the draft model's is the k with the best rate) and E the tokens expected: for a chain,
/// (1 − α^(k+1)) / (1 − α) with α the per-level acceptance learned from that source's own rounds
/// (<see cref="AcceptanceEstimate"/>), for copies split by the match's length; for retrieval its tree's own estimate;
/// for the draft model weighted by how often its confidence cut-off lets it draft at all (a round it stops at once
/// costs a draft step and yields plain decoding's token). t, the source's calibration, is the tokens its recent rounds
/// produced over the tokens they were expected to (1 before any): each source's estimate has its own bias (a draft
/// model's α counts only the tokens it dared to draft; a source is chosen on the rounds its estimate ran high), and the
/// comparison between sources must not inherit it. Retrieval plans every round unless the request holds a long match,
/// and what the draft model's rounds taught fades while it sits out, so a source judged poor is tried again.
/// Before its first round in a request the draft model must read the prompt: an investment, made only when what the
/// draft model is expected to save over the rest of the request pays for it, its time per token against what the other
/// sources have recently cost a token (their expected cost over their expected tokens, round by round, whichever
/// drafted) times the tokens a request of this process usually has left. Not this round's best alone: a round where
/// nothing matches is soon followed by one that copies. So where copies have recently cost less a token than the draft
/// model would (a question over passages they copy from) it does not read the prompt, nor for a long prompt with a short
/// answer (a summary), while a request where nothing else matches (arithmetic) reads it at once. A round drafts with the draft model
/// where nothing matches, copies where a match is trustworthy, and does not speculate where neither pays (rows verified on a CPU are not free). What was
/// learned carries over to later requests of the process.
/// <para>
/// Lookahead and layer skipping are not among the sources: on a CPU their verification rows or draft layers
/// cost more than they return (README's methods table), and a per-round choice cannot preview them cheaply.
/// </para>
/// </summary>
public sealed class AutoProposer : IDraftProposer
{
    private enum Source { None, Lookup, Retrieval, Draft }

    private static readonly string[] Names = [SpeculationMethods.None, SpeculationMethods.PromptLookup, SpeculationMethods.Retrieval, SpeculationMethods.DraftModel];

    /// <summary>A prompt-lookup match at least this long is copied without consulting retrieval.</summary>
    private const int LongMatch = 6;

    /// <summary>
    /// Evidence on the draft model's acceptance kept per round it sits out: a poor record fades (half in about 23 rounds),
    /// so the draft is tried again when the text may have turned predictable (from a summary to arithmetic).
    /// </summary>
    private const double DraftFade = 0.97;

    /// <summary>Evidence kept per round in a source's calibration (<see cref="Calibration"/>): about its last 30 rounds.</summary>
    private const double CalibrationMemory = 0.97;

    /// <summary>Tokens of exact promises a calibration starts from.</summary>
    private const double CalibrationPrior = 8;

    /// <summary>Weight of one round in the draft model's measured costs.</summary>
    private const double Rate = 0.1;

    /// <summary>Weight of one finished request in the usual answer length: it follows the last few requests.</summary>
    private const double AnswerRate = 0.3;

    /// <summary>Evidence kept per round in the other sources' cost per token (<see cref="_otherCost"/>): about the last 30 rounds.</summary>
    private const double OtherMemory = 0.97;

    private readonly ILanguageModel _target;
    private readonly ILanguageModel? _draftModel;
    private readonly PromptLookupProposer _lookup = new();
    private readonly RestProposer _retrieval;
    private readonly DraftModelProposer? _draft;
    private readonly SpeculationOptions _lookupOptions = SpeculationOptions.For(SpeculationMethods.PromptLookup, draftMax: 8);
    private readonly SpeculationOptions _retrievalOptions = SpeculationOptions.For(SpeculationMethods.Retrieval);
    private readonly SpeculationOptions _draftOptions = SpeculationOptions.For(SpeculationMethods.DraftModel);
    private readonly AcceptanceEstimate[] _lookupAcceptance = AcceptanceEstimate.PerMatchBucket(); // [match-length bucket]
    // The draft model's acceptance follows the text more than a copy's does (it has no match length to split by):
    // a short memory, so it recovers within a few rounds when a request turns easy. Its prior is the draft length
    // rule's (0.8, worth 4 tokens): a draft model is made to agree with its target, where a short copy often is not,
    // and without it the copies' optimistic priors would keep the draft from its first round.
    private readonly AcceptanceEstimate _draftAcceptance = new(discount: 0.9, prior: 0.8, priorWeight: 4);
    // How often a round that chose the draft model got a draft at all: its confidence cut-off may stop it before the
    // first token (on text it cannot predict, a translation), and such a round pays a draft step for plain decoding's
    // one token. Same memory; counted apart from α, which is what a drafted token's chance is.
    private readonly AcceptanceEstimate _draftStarts = new(discount: 0.9, prior: 0.8, priorWeight: 4);
    // Each source's expected tokens against what its rounds then produced ([Source]): the estimates above are each
    // source's own model (a chain's α, a trie's shares), biased in ways a comparison between them must not inherit: the
    // optimism that lets a poor source be tried again, a source chosen on the rounds its estimate ran high. A source's
    // expectations are scaled by produced ÷ expected over its recent rounds (a prior of a few exact rounds, faded while
    // it sits out), so each is judged by how its promises turned out.
    private readonly double[] _expected = new double[Names.Length];
    private readonly double[] _produced = new double[Names.Length];
    private double _promise;             // what this round's choice was expected to produce, tokens
    private LearnedCostCurve? _cost;     // null until the first request; then the target's, learned from auto's rounds
    private double _draftTokenMs;        // a draft-model token, ms, measured as it drafts
    private double _draftPrefillRowMs;   // a context token the draft model reads in a batch (its prefill), ms
    private double _usualAnswer = 64;    // tokens a request of this process generates, learned from the finished ones
    private double _otherCost;           // the best source but the draft model, each round: its expected cost (one-row rounds), decayed sum …
    private double _otherTokens;         // … and its expected tokens (calibrated), so their ratio is what it recently cost a token
    private long _rounds;
    private int _prompt;                 // the request's prompt length
    private bool _draftStarted;          // whether the draft model has read this request's prompt
    private Source _source;              // what this round drafted with
    private AcceptanceEstimate? _estimate; // … and the estimate its outcome updates
    private int _depth;                  // … and how deep its draft went
    private int _rows;                   // … and how many rows the verifier ran
    private long _verifyStart;           // … and when it went to the verifier (Stopwatch ticks)

    public AutoProposer(ProposerContext context)
    {
        _target = context.Target;
        _draftModel = context.DraftModel;
        _retrieval = new RestProposer(context.Target.Tokenizer, () => _cost!);
        if (_draftModel is not null) _draft = new DraftModelProposer(_draftModel, context.Target);
    }

    /// <summary>
    /// Auto with a given verification cost curve instead of the target's measured one; with a curve that does not learn,
    /// the draft model's costs stay as given too (tests and bench/cpu/auto-modeled.cs: choices that do not depend on timing).
    /// </summary>
    internal AutoProposer(ProposerContext context, LearnedCostCurve cost, double draftTokenMs, double draftPrefillRowMs) : this(context)
    {
        _cost = cost;
        _draftTokenMs = draftTokenMs;
        _draftPrefillRowMs = draftPrefillRowMs;
    }

    /// <summary>The retrieval source, whose in-process store may be saved.</summary>
    public RestProposer Retrieval => _retrieval;

    /// <summary>The source the current round drafted with.</summary>
    public string ActiveMethod => Names[(int)_source];

    public void Reset(in ProposalRequest request)
    {
        if (_cost is null)
        {
            _cost = LearnedCostCurve.For(_target);
            if (_draftModel is not null)
            {
                // The draft's one-row time drafts; its batched time per row is what reading a prompt costs.
                var draft = CostCurve.Measure(_draftModel, context: 16, repeats: 3, maxRows: ForwardBatch.MaxRows);
                _draftTokenMs = draft.OneRowMs;
                _draftPrefillRowMs = draft.OneRowMs * draft.Relative(ForwardBatch.MaxRows) / ForwardBatch.MaxRows;
            }
        }
        _lookup.Reset(request with { Speculation = _lookupOptions });
        _retrieval.Reset(request with { Speculation = _retrievalOptions with { Datastore = request.Speculation.Datastore } });
        _draft?.Reset(request with { Speculation = _draftOptions });
        _draftStarted = false;
        _prompt = 0;
        _source = Source.None;
        _estimate = null;
        _depth = _rows = 0;
        _verifyStart = 0;
    }

    /// <summary>The copy sources index the prompt; the draft model reads it only when first chosen.</summary>
    public void Prefill(ReadOnlySpan<int> prompt)
    {
        _lookup.Prefill(prompt);
        _retrieval.Prefill(prompt);
        _prompt = prompt.Length;
    }

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        var cost = _cost ?? throw new InvalidOperationException("Reset must be called before Propose");
        if (_prompt == 0) _prompt = context.Length; // no Prefill: the first context is the prompt
        _rounds++;
        int budget = tree.Budget, maxDepth = tree.MaxDepth;
        var choice = Source.None;
        double best = 1, bestTokens = 1; // plain decoding: one token per one-row round
        int lookupLength = 0, draftLength = 0;
        double promise = 1; // the choice's expected tokens before calibration
        AcceptanceEstimate? lookupEstimate = null;

        // The draft model: its cost is paid before its tokens are seen, so it is judged on its record alone, at the
        // length with the best rate; its confidence cut-off may stop it sooner. It is weighed against the others below.
        double draftRate = 0, draftTokens = 0, draftTrust = 1;
        if (_draft is not null)
        {
            double alpha = _draftAcceptance.Optimistic(_rounds);
            double starts = _draftStarts.Optimistic(_rounds);
            double token = _draftTokenMs / cost.OneRowMs;
            draftTrust = Calibration(Source.Draft);
            for (int k = 1; k <= Math.Min(maxDepth, _draftOptions.DraftMax); k++)
            {
                double tokens = draftTrust * (1 + starts * (AcceptanceEstimate.ExpectedTokens(alpha, k) - 1));
                double rounds = (1 - starts) * (1 + token) + starts * (cost.Relative(k + 1) + k * token);
                if (tokens / rounds > draftRate) (draftRate, draftLength, draftTokens) = (tokens / rounds, k, tokens);
            }
        }

        // Prompt lookup: its chain, cut at the length that pays most.
        tree.Clear(Math.Min(budget, _lookupOptions.DraftMax), Math.Min(maxDepth, _lookupOptions.DraftMax));
        _lookup.Propose(context, tree, rng);
        if (tree.Count > 0)
        {
            lookupEstimate = _lookupAcceptance[AcceptanceEstimate.MatchBucket(_lookup.MatchLength)];
            double alpha = lookupEstimate.Optimistic(_rounds), trust = Calibration(Source.Lookup);
            for (int k = 1; k <= tree.Count; k++)
            {
                double tokens = AcceptanceEstimate.ExpectedTokens(alpha, k);
                double rate = trust * tokens / cost.Relative(k + 1);
                if (rate > best) (best, bestTokens, choice, lookupLength, promise) = (rate, trust * tokens, Source.Lookup, k, tokens);
            }
        }

        // Retrieval: its tree as it plans it (sized by the same curve). Its lookups are skipped when the request itself
        // holds a long match; otherwise it plans every round, so that its estimates' optimism grows with the rounds
        // they sit out (skipped whenever the draft model's record looked better, retrieval was never tried again).
        tree.Clear(Math.Min(budget, _retrievalOptions.TreeNodes), Math.Min(maxDepth, _retrievalOptions.DraftMax));
        if (_lookup.MatchLength < LongMatch)
        {
            _retrieval.Propose(context, tree, rng);
            if (tree.Count > 0)
            {
                double trust = Calibration(Source.Retrieval);
                double rate = trust * _retrieval.ExpectedTokens / cost.Relative(tree.Count + 1);
                if (rate > best) (best, bestTokens, choice, promise) = (rate, trust * _retrieval.ExpectedTokens, Source.Retrieval, _retrieval.ExpectedTokens);
            }
        }

        // The draft model against the best of the others. Before its first round in a request it must read the prompt:
        // an investment, made only when its expected saving over the rest of the request pays for it, its time per
        // token against what the others have recently cost a token, not only this round's best (a round where nothing
        // matches is soon followed by one that copies). Later it reads what the others committed since its last round
        // in the forward of its first draft step, a cost spread over the rest of a usual answer (it serves the rounds
        // after this one too), this round paying at most all of it.
        if (_draft is not null)
        {
            _otherCost = _otherCost * OtherMemory + bestTokens / best;
            _otherTokens = _otherTokens * OtherMemory + bestTokens;
            double catchUp = _draft.UnreadRows(context.Length) * _draftPrefillRowMs / cost.OneRowMs;
            double remaining = Math.Max(1, _usualAnswer - (context.Length - _prompt));
            if (!_draftStarted)
            {
                if (catchUp > remaining * (_otherCost / _otherTokens - 1 / draftRate)) draftRate = 0;
            }
            else draftRate = draftTokens / (draftTokens / draftRate + catchUp * Math.Min(1, draftTokens / remaining));
            if (draftRate > best) (best, choice, promise) = (draftRate, Source.Draft, draftTokens / draftTrust);
        }

        _estimate = null;
        switch (choice)
        {
            case Source.None:
                tree.Clear(budget, maxDepth);
                break;
            case Source.Lookup:
                tree.Clear(lookupLength, lookupLength);
                _lookup.Propose(context, tree, rng); // the same match, cut short
                _estimate = lookupEstimate;
                break;
            case Source.Retrieval:
                break; // the tree holds its proposal; it learns from the outcome itself
            case Source.Draft:
                if (!_draftStarted)
                {
                    int rows = _draft!.UnreadRows(context.Length);
                    long prefill = Stopwatch.GetTimestamp();
                    _draft.Prefill(context);
                    if (rows > 0 && cost.Learns) _draftPrefillRowMs += Rate * (Stopwatch.GetElapsedTime(prefill).TotalMilliseconds / rows - _draftPrefillRowMs);
                    _draftStarted = true;
                }
                tree.Clear(Math.Min(budget, draftLength), draftLength);
                double catchUpMs = _draft!.UnreadRows(context.Length) * _draftPrefillRowMs; // read in its first forward
                long start = Stopwatch.GetTimestamp();
                _draft.Propose(context, tree, rng);
                double ms = Math.Max(0, Stopwatch.GetElapsedTime(start).TotalMilliseconds - catchUpMs);
                if (tree.Count > 0 && cost.Learns) _draftTokenMs += Rate * (Math.Min(ms / tree.Count, LearnedCostCurve.MaxJump * _draftTokenMs) - _draftTokenMs);
                _estimate = _draftAcceptance;
                break;
        }
        _source = choice;
        _promise = promise;
        if (choice == Source.Draft) _draftStarts.Observe(1, tree.Count > 0 ? 1 : 0);
        else
        {
            _draftAcceptance.Fade(DraftFade);
            _draftStarts.Fade(DraftFade);
        }
        _depth = tree.Depth;
        _rows = tree.Count + 1;
        _verifyStart = Stopwatch.GetTimestamp();
    }

    /// <summary>Produced ÷ expected tokens of <paramref name="source"/>'s recent rounds, from a prior of exact promises.</summary>
    private double Calibration(Source source) =>
        (_produced[(int)source] + CalibrationPrior) / (_expected[(int)source] + CalibrationPrior);

    /// <summary>A batched round's time is not this round's cost: the learned cost curve skips it.</summary>
    public void SharedForward() => _verifyStart = 0;

    public void Accepted(ReadOnlySpan<int> path)
    {
        if (_verifyStart != 0) _cost!.Observe(_rows, Stopwatch.GetElapsedTime(_verifyStart).TotalMilliseconds);
        _verifyStart = 0;
        _estimate?.Observe(_depth, path.Length);
        for (int s = 0; s < _expected.Length; s++)
        {
            _expected[s] *= CalibrationMemory;
            _produced[s] *= CalibrationMemory;
        }
        _expected[(int)_source] += _promise;
        _produced[(int)_source] += path.Length + 1;
        if (_source == Source.Retrieval) _retrieval.Accepted(path);
        if (_source == Source.Draft) _draft!.Accepted(path); // its cache keeps the accepted drafts
    }

    public void Finished(ReadOnlySpan<int> generated)
    {
        _retrieval.Finished(generated);
        _usualAnswer += AnswerRate * (generated.Length - _usualAnswer);
    }

    /// <summary>Forgets the answers retrieval learned, every acceptance estimate and the usual answer length.</summary>
    public void Forget()
    {
        _retrieval.Forget();
        foreach (var e in _lookupAcceptance) e.Clear();
        _draftAcceptance.Clear();
        _draftStarts.Clear();
        Array.Clear(_expected);
        Array.Clear(_produced);
        _otherCost = _otherTokens = 0;
        _usualAnswer = 64;
    }
}
