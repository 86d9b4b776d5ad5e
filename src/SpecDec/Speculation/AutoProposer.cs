using System.Diagnostics;
using SpecDec.Model;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// `auto`: chooses how to draft for the user, every round anew, among the sources that need nothing the user
/// must pick: a copy of an earlier match in the request (prompt lookup), retrieval (the datastore, earlier
/// answers and the request), the draft model when one is loaded, and plain decoding. Copy sources are cheap to
/// consult, so each round first looks at what they would propose and how long a match found it; then it
/// takes the source with the most expected tokens per unit of target time:
/// <code>
///   rate = (1 − α^(k+1)) / (1 − α) ÷ (c(rows) + k·d)      plain decoding: 1 token per c(1) = 1
/// </code>
/// with c the target's measured verification cost curve (<see cref="CostCurve"/>), d a draft-model token's
/// measured cost in one-row forwards (0 for copies), k the chain's length (a copy is cut where more tokens
/// stop paying) or a tree's depth, and α the per-level acceptance learned from that source's own rounds
/// (<see cref="AcceptanceEstimate"/>), for copies split by the match's length: a 2-token match in free prose
/// rarely holds, a 12-token match in an edited file almost always does. So a round drafts with the draft model
/// where nothing matches, copies where a match is trustworthy, and does not speculate where neither pays
/// (rows verified on a CPU are not free). What was learned carries over to later requests of the process.
/// <para>
/// Lookahead and layer skipping are not among the sources: on a CPU their verification rows or draft layers
/// cost more than they return (README's methods table), and a per-round choice cannot preview them cheaply.
/// </para>
/// </summary>
public sealed class AutoProposer : IDraftProposer
{
    private enum Source { None, Lookup, Retrieval, Draft }

    private static readonly string[] Names = [SpeculationMethods.None, SpeculationMethods.PromptLookup, SpeculationMethods.Retrieval, SpeculationMethods.DraftModel];

    /// <summary>Match lengths are grouped as 2, 3, 4–5, 6–9, 10+ tokens (1 for pld's unigram setting).</summary>
    private const int Buckets = 5;

    /// <summary>A prompt-lookup match at least this long is copied without consulting retrieval.</summary>
    private const int LongMatch = 6;

    private readonly ILanguageModel _target;
    private readonly ILanguageModel? _draftModel;
    private readonly PromptLookupProposer _lookup = new();
    private readonly RestProposer _retrieval;
    private readonly DraftModelProposer? _draft;
    private readonly SpeculationOptions _lookupOptions = SpeculationOptions.For(SpeculationMethods.PromptLookup, draftMax: 8);
    private readonly SpeculationOptions _retrievalOptions = SpeculationOptions.For(SpeculationMethods.Retrieval);
    private readonly SpeculationOptions _draftOptions = SpeculationOptions.For(SpeculationMethods.DraftModel);
    private readonly AcceptanceEstimate[] _lookupAcceptance = NewEstimates(Buckets);    // [bucket]
    private readonly AcceptanceEstimate[] _retrievalAcceptance = NewEstimates(Buckets); // [bucket]
    // The draft model's acceptance follows the text more than a copy's does (it has no match length to split by):
    // a short memory, so it recovers within a few rounds when a request turns easy. Its prior is the draft length
    // rule's (0.8, worth 4 tokens): a draft model is made to agree with its target, where a short copy often is not,
    // and without it the copies' optimistic priors would keep the draft from its first round.
    private readonly AcceptanceEstimate _draftAcceptance = new(discount: 0.9, prior: 0.8, priorWeight: 4);
    private DraftLengthController? _draftLength; // the draft method's own length rule, under the same cost curve
    private CostCurve? _cost;            // null until the first request; then the target's measured c(n)
    private double _draftCost;           // a draft-model token in one-row target forwards, measured as it drafts
    private long _rounds;
    private Source _source;              // what this round drafted with
    private AcceptanceEstimate? _estimate; // … and the estimate its outcome updates
    private int _depth;                  // … and how deep its draft went

    public AutoProposer(ProposerContext context)
    {
        _target = context.Target;
        _draftModel = context.DraftModel;
        _retrieval = new RestProposer(context.Target.Tokenizer);
        if (_draftModel is not null) _draft = new DraftModelProposer(_draftModel, context.Target);
    }

    private static AcceptanceEstimate[] NewEstimates(int n) => Enumerable.Range(0, n).Select(_ => new AcceptanceEstimate()).ToArray();

    /// <summary>The retrieval source, whose in-process store may be saved.</summary>
    public RestProposer Retrieval => _retrieval;

    /// <summary>The source the current round drafted with.</summary>
    public string ActiveMethod => Names[(int)_source];

    public void Reset(in ProposalRequest request)
    {
        _lookup.Reset(request with { Speculation = _lookupOptions });
        _retrieval.Reset(request with { Speculation = _retrievalOptions with { Datastore = request.Speculation.Datastore } });
        _draft?.Reset(request with { Speculation = _draftOptions });
        if (_cost is null)
        {
            var measured = CostCurve.Of(_target, SpeculationOptions.MaxVerifyRows);
            // A toy model's microsecond forwards give a curve of timer noise: then each row is taken to cost a
            // sixth of a forward, about what a verified row costs the bundled target on two cores.
            _cost = measured.OneRowMs >= CostCurve.MeasurableMs ? measured
                : new CostCurve(Enumerable.Range(1, 8).Select(n => 1 + (n - 1) / 6.0).ToArray());
            if (_draftModel is not null)
            {
                _draftCost = CostCurve.Of(_draftModel, 1).OneRowMs / Math.Max(measured.OneRowMs, CostCurve.MeasurableMs);
                _draftLength = new DraftLengthController(1, _draftOptions.DraftMax, _cost, _draftCost);
            }
        }
        _source = Source.None;
        _estimate = null;
        _depth = 0;
    }

    public void Prefill(ReadOnlySpan<int> prompt)
    {
        _lookup.Prefill(prompt);
        _retrieval.Prefill(prompt);
        _draft?.Prefill(prompt);
    }

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        var cost = _cost ?? throw new InvalidOperationException("Reset must be called before Propose");
        _rounds++;
        int budget = tree.Budget, maxDepth = tree.MaxDepth;
        var choice = Source.None;
        double best = 1; // plain decoding: one token per one-row forward
        int lookupLength = 0;
        AcceptanceEstimate? lookupEstimate = null, retrievalEstimate = null;

        // The draft model: its cost is paid before its tokens are seen, so it is judged on its record alone, at the
        // length the draft method would use (grown on full acceptance, shrunk on a rejection, capped by the cost
        // curve); its confidence cut-off may stop it sooner.
        int draftLength = 0;
        if (_draft is not null)
        {
            draftLength = Math.Min(maxDepth, _draftLength!.Current);
            double rate = AcceptanceEstimate.ExpectedTokens(_draftAcceptance.Optimistic(_rounds), draftLength)
                / (cost.Relative(draftLength + 1) + draftLength * _draftCost);
            if (rate > best) (best, choice) = (rate, Source.Draft);
        }

        // Prompt lookup: its chain, cut at the length that pays most.
        tree.Clear(Math.Min(budget, _lookupOptions.DraftMax), Math.Min(maxDepth, _lookupOptions.DraftMax));
        _lookup.Propose(context, tree, rng);
        if (tree.Count > 0)
        {
            lookupEstimate = _lookupAcceptance[Bucket(_lookup.MatchLength)];
            double alpha = lookupEstimate.Optimistic(_rounds);
            for (int k = 1; k <= tree.Count; k++)
            {
                double rate = AcceptanceEstimate.ExpectedTokens(alpha, k) / cost.Relative(k + 1);
                if (rate > best) (best, choice, lookupLength) = (rate, Source.Lookup, k);
            }
        }

        // Retrieval: its tree as proposed (its own share threshold already prunes rare paths). Its store lookups
        // are skipped where they cannot win: when the request itself holds a long match, or when even its most
        // trusted match length, drafting one node per level, would not beat the choice so far.
        tree.Clear(Math.Min(budget, _retrievalOptions.MaxNodes), Math.Min(maxDepth, _retrievalOptions.DraftMax));
        if (_lookup.MatchLength < LongMatch && RetrievalCouldWin(best, tree.MaxDepth, cost)) _retrieval.Propose(context, tree, rng);
        if (tree.Count > 0)
        {
            retrievalEstimate = _retrievalAcceptance[Bucket(_retrieval.MatchLength)];
            double rate = AcceptanceEstimate.ExpectedTokens(retrievalEstimate.Optimistic(_rounds), tree.Depth) / cost.Relative(tree.Count + 1);
            if (rate > best) (best, choice) = (rate, Source.Retrieval);
        }

        switch (choice)
        {
            case Source.None:
                tree.Clear(budget, maxDepth);
                _estimate = null;
                break;
            case Source.Lookup:
                tree.Clear(lookupLength, lookupLength);
                _lookup.Propose(context, tree, rng); // the same match, cut short
                _estimate = lookupEstimate;
                break;
            case Source.Retrieval:
                _estimate = retrievalEstimate; // the tree holds its proposal
                break;
            case Source.Draft:
                tree.Clear(Math.Min(budget, draftLength), draftLength);
                long start = Stopwatch.GetTimestamp();
                _draft!.Propose(context, tree, rng);
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (tree.Count > 0) _draftCost = 0.9 * _draftCost + 0.1 * ms / tree.Count / cost.OneRowMs;
                _estimate = _draftAcceptance;
                break;
        }
        _source = choice;
        _depth = tree.Depth;
    }

    /// <summary>Whether a retrieval chain <paramref name="depth"/> deep at its best bucket's acceptance would beat <paramref name="best"/>.</summary>
    private bool RetrievalCouldWin(double best, int depth, CostCurve cost)
    {
        double alpha = 0;
        foreach (var estimate in _retrievalAcceptance) alpha = Math.Max(alpha, estimate.Optimistic(_rounds));
        for (int k = 1; k <= depth; k++)
            if (AcceptanceEstimate.ExpectedTokens(alpha, k) / cost.Relative(k + 1) > best) return true;
        return false;
    }

    /// <summary>The bucket of a match of <paramref name="length"/> tokens.</summary>
    private static int Bucket(int length) => length switch
    {
        <= 2 => 0,
        3 => 1,
        <= 5 => 2,
        <= 9 => 3,
        _ => 4,
    };

    public void Accepted(ReadOnlySpan<int> path)
    {
        _estimate?.Observe(_depth, path.Length);
        if (_source != Source.Draft) return;
        _draft!.Accepted(path); // its cache keeps the accepted drafts
        _draftLength!.Observe(_depth, path.Length);
    }

    public void Finished(ReadOnlySpan<int> generated) => _retrieval.Finished(generated);

    /// <summary>Forgets the answers retrieval learned and every acceptance estimate.</summary>
    public void Forget()
    {
        _retrieval.Forget();
        foreach (var e in _lookupAcceptance) e.Clear();
        foreach (var e in _retrievalAcceptance) e.Clear();
        _draftAcceptance.Clear();
        if (_draftModel is not null && _cost is not null) _draftLength = new DraftLengthController(1, _draftOptions.DraftMax, _cost, _draftCost);
    }
}
