using System.Diagnostics;
using SpecDec.Model;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// `auto`: picks the method for the user and keeps picking while it runs. Its arms are plain decoding and the
/// methods that need nothing but the target (prompt lookup, retrieval, lookahead); a <see cref="RateBandit"/>
/// pulls one for <see cref="RateBandit.PullRounds"/> rounds at a time and scores it by the tokens per second
/// it delivered, measured round to round, so a method's verification cost on this machine (the rows it
/// verifies, c(n)) counts exactly as much as its acceptance. What was learned carries over to later requests.
/// Each arm drafts with its own method's defaults (depth and node budget) inside the round's tree; every arm
/// reads the committed context afresh when it is pulled, so switching loses nothing.
/// <para>
/// The verification cost curve prunes before anything is spent: at the first request the target's c(n) is
/// measured (<see cref="CostCurve"/>), and an arm whose verification forward (its node budget, its side rows
/// and the root) costs as much as the most tokens one of its rounds can yield (its depth + 1) is never
/// pulled, since it cannot beat plain decoding on this machine.
/// </para>
/// </summary>
public sealed class AutoProposer : IDraftProposer
{
    private readonly string[] _names;
    private readonly IDraftProposer?[] _arms;          // null: plain decoding
    private readonly SpeculationOptions[] _options;    // each arm's own defaults
    private readonly RateBandit _bandit;
    private readonly ILanguageModel _target;
    private bool _priced;                              // arms checked against the cost curve
    private ProposalRequest _request;
    private long _roundStart;
    private int _lastTokens;

    public AutoProposer(ProposerContext context)
    {
        string[] names = [SpeculationMethods.None, SpeculationMethods.PromptLookup, SpeculationMethods.Retrieval, SpeculationMethods.Lookahead];
        _names = names;
        _arms = names.Select(n => SpeculationMethods.Get(n).Create?.Invoke(context)).ToArray();
        _options = names.Select(n => SpeculationOptions.For(n)).ToArray();
        _bandit = new RateBandit(names.Length);
        _target = context.Target;
    }

    /// <summary>The retrieval arm, whose in-process store may be saved.</summary>
    public RestProposer Retrieval => _arms.OfType<RestProposer>().Single();

    /// <summary>The method the current round drafts with.</summary>
    public string ActiveMethod => _names[_bandit.Current];

    public int MaxSideRows => _arms.Max(a => a?.MaxSideRows ?? 0);

    public void Reset(in ProposalRequest request)
    {
        _request = request;
        for (int a = 0; a < _arms.Length; a++)
            _arms[a]?.Reset(request with { Speculation = _options[a] with { Datastore = request.Speculation.Datastore } });
        _roundStart = 0;
        if (!_priced)
        {
            _priced = true;
            var cost = CostCurve.Measure(_target);
            // A forward timed in microseconds (a toy model) gives a curve of noise: then every arm stays.
            for (int a = 0; a < _arms.Length && cost.OneRowMs >= CostCurve.MeasurableMs; a++)
                if (_arms[a] is { } arm && cost.Relative(_options[a].MaxNodes + 1 + arm.MaxSideRows) >= _options[a].DraftMax + 1)
                    _bandit.Exclude(a);
        }
    }

    public void Prefill(ReadOnlySpan<int> prompt)
    {
        foreach (var arm in _arms) arm?.Prefill(prompt);
    }

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        long now = Stopwatch.GetTimestamp();
        if (_roundStart != 0) _bandit.Observe(_lastTokens, Stopwatch.GetElapsedTime(_roundStart, now).TotalSeconds);
        _roundStart = now;
        _lastTokens = 1;

        int a = _bandit.Current;
        if (_arms[a] is not { } arm) return;
        var own = _options[a];
        tree.Clear(Math.Min(tree.Budget, own.MaxNodes), Math.Min(tree.MaxDepth, own.DraftMax));
        arm.Propose(context, tree, rng);
    }

    public int SideRows(Span<int> tokens, Span<int> parents, Span<int> wanted, out int wantedCount)
    {
        wantedCount = 0;
        return _arms[_bandit.Current]?.SideRows(tokens, parents, wanted, out wantedCount) ?? 0;
    }

    public void SideLogits(ReadOnlySpan<float> logits) => _arms[_bandit.Current]?.SideLogits(logits);

    public void Accepted(ReadOnlySpan<int> path)
    {
        _lastTokens = path.Length + 1;
        _arms[_bandit.Current]?.Accepted(path);
    }

    public void Finished(ReadOnlySpan<int> generated)
    {
        foreach (var arm in _arms) arm?.Finished(generated);
    }

    public void Forget()
    {
        foreach (var arm in _arms) arm?.Forget();
    }
}
