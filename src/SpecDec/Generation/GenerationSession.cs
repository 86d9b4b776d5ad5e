namespace SpecDec.Generation;

/// <summary>
/// One request on a <see cref="Generator"/> driven round by round by its caller, for schedulers that interleave
/// several sequences on one model (the server runs one round of each in turn). The same loop as
/// <see cref="Generator.Generate(ReadOnlySpan{int}, GenerationOptions?, Action{string}?, CancellationToken)"/>:
/// the same tokens come out. The generator is busy until the session is disposed.
/// </summary>
public sealed class GenerationSession : IDisposable
{
    private readonly GenerationLoop _loop;
    private readonly Action _exit;
    private bool _disposed;

    internal GenerationSession(GenerationLoop loop, Action exit)
    {
        _loop = loop;
        _exit = exit;
    }

    /// <summary>
    /// Runs the prompt through the target and commits the first token from its last row; returns that token's text
    /// (<see cref="RoundTokens"/> hold it). Call once, before the first <see cref="Step"/>, which first lets the
    /// proposer read the prompt.
    /// </summary>
    public string Prefill() => _loop.Prefill();

    /// <summary>
    /// The prefill one chunk of at most 64 prompt tokens at a time, for schedulers that interleave it with other
    /// sequences' rounds: null while prompt tokens are left; then the first token's text, as <see cref="Prefill"/>
    /// returns it (then call <see cref="Step"/>). Instead of <see cref="Prefill"/>.
    /// </summary>
    public string? PrefillStep() => _loop.PrefillStep();

    /// <summary>One round (propose, verify, accept); returns the text it adds, possibly empty.</summary>
    public string Step() => _loop.Step();

    /// <summary>Runs one round of each session together (<see cref="BatchedRounds"/>).</summary>
    internal GenerationLoop Loop
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _loop;
        }
    }

    /// <summary>Set once generation has ended.</summary>
    public FinishReason? FinishReason => _loop.FinishReason;

    public GenerationStats Stats => _loop.Stats;

    /// <summary>The tokens the latest <see cref="Step"/> (or the prefill's end: the first token) produced, with how each came (accepted draft, correction, bonus) and where its text ends.</summary>
    public ReadOnlySpan<RoundToken> RoundTokens => _loop.RoundTokens;

    /// <summary>The committed tokens after the prompt.</summary>
    public ReadOnlySpan<int> Generated => _loop.Generated;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _exit();
    }
}
