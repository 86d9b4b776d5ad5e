using System.Diagnostics;
using System.Numerics.Tensors;
using SpecDec.Model;
using SpecDec.Sampling;

namespace SpecDec.Speculation;

/// <summary>
/// Self-speculation with no extra model (LayerSkip's early exit, Elhoushi et al. 2024; SWIFT's online choice,
/// Xia et al. 2025): the target drafts for itself through its first E blocks, then its own final norm and
/// output head, on the same weights. Drafting runs in the target's own KV cache: the committed positions'
/// keys and values of blocks &lt; E are exactly what E blocks need (no draft prefill, no second cache), and
/// the draft rows it appends are rolled back before the verification forward overwrites them.
/// <para>
/// E is fixed by <see cref="SpeculationOptions.ExitLayer"/> (for a model trained for early exit), or, when that
/// is 0, chosen online with no training: a <see cref="RateBandit"/> over exit layers from half the depth to
/// the last block but one, scored by the tokens per second each delivers (a deeper exit drafts better and
/// costs more). Drafts are greedy point masses (the verifier's deterministic-candidate rule keeps sampling
/// exact), a chain that stops below <see cref="SpeculationOptions.DraftPMin"/> top probability.
/// </para>
/// </summary>
public sealed class LayerSkipProposer : IDraftProposer
{
    private readonly ILanguageModel _target;
    private readonly float[] _logits;     // [V]
    private readonly int[] _token = new int[1];
    private readonly int[] _position = new int[1];
    private readonly int[] _exits;        // candidate exit layers (the blocks run)
    private readonly RateBandit _bandit;
    private readonly string[] _exitNames;  // "exit E" for each candidate, reported per round
    private IKvCache? _cache;
    private int _fixedExit;               // 0: online choice
    private float _pMin;
    private long _roundStart;
    private int _lastTokens;

    public LayerSkipProposer(ILanguageModel target)
    {
        _target = target;
        _logits = new float[target.Config.VocabSize];
        int layers = target.Config.LayerCount;
        _exits = Enumerable.Range(Math.Max(1, layers / 2), Math.Max(1, layers - 1 - Math.Max(1, layers / 2))).ToArray();
        if (_exits.Length == 0) _exits = [Math.Max(1, layers - 1)];
        _bandit = new RateBandit(_exits.Length);
        _exitNames = _exits.Select(e => $"exit {e}").ToArray();
    }

    /// <summary>The exit the online choice drafts with this round; null with a fixed exit.</summary>
    public string? ActiveMethod => _fixedExit > 0 ? null : _exitNames[_bandit.Current];

    /// <summary>The blocks the next draft runs.</summary>
    public int ExitLayer => _fixedExit > 0 ? _fixedExit : _exits[_bandit.Current];

    /// <summary>Refuses an exit layer the target does not have: it must leave at least one block to skip.</summary>
    public static void Validate(int exitLayer, ModelConfig target)
    {
        if (exitLayer < 0 || exitLayer >= target.LayerCount)
            throw new SpecDecException($"--exit-layer must be in [1, {target.LayerCount - 1}] for this model of {target.LayerCount} layers (0 chooses online; got {exitLayer})");
    }

    public void Reset(in ProposalRequest request)
    {
        Validate(request.Speculation.ExitLayer, _target.Config);
        _cache = request.TargetCache ?? throw new InvalidOperationException("layer-skip drafting runs in the target's KV cache");
        _fixedExit = request.Speculation.ExitLayer;
        _pMin = request.Speculation.DraftPMin;
        _roundStart = 0;
    }

    public void Prefill(ReadOnlySpan<int> prompt) { } // the target's prefill filled the cache this drafts from

    /// <summary>A batched round's time holds other sequences' work: the exit bandit does not score this round.</summary>
    public void SharedForward() => _roundStart = 0;

    public void Propose(ReadOnlySpan<int> context, DraftTree tree, Xoshiro256StarStar rng)
    {
        long now = Stopwatch.GetTimestamp();
        if (_roundStart != 0 && _fixedExit == 0) _bandit.Observe(_lastTokens, Stopwatch.GetElapsedTime(_roundStart, now).TotalSeconds);
        _roundStart = now;

        var cache = _cache!;
        int committed = cache.Length; // the target has seen every committed token but the pending one
        int exit = ExitLayer;
        int token = context[^1], parent = -1;
        for (int depth = 0; depth < tree.MaxDepth && !tree.IsFull; depth++)
        {
            _token[0] = token;
            _position[0] = committed + depth;
            _target.Forward(new ForwardBatch { Tokens = _token, Positions = _position, Layers = exit }, cache, _logits);
            token = TensorPrimitives.IndexOfMax(_logits);
            // Top probability at T = 1: 1 / Σ exp(l − max).
            float max = _logits[token], sum = 0;
            foreach (float l in _logits) sum += MathF.Exp(l - max);
            if (1 / sum < _pMin) break;
            parent = tree.Add(parent, token);
        }
        cache.Rollback(committed);
    }

    public void Accepted(ReadOnlySpan<int> path) => _lastTokens = path.Length + 1;
}
