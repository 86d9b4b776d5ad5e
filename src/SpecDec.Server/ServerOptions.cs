namespace SpecDec.Server;

/// <summary>The limits and defaults of one server; every request is checked against them before it runs.</summary>
public sealed record ServerOptions
{
    /// <summary>Loopback by default: the server is reachable from other machines only when asked.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>When set, every /v1 request needs <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Most new tokens a request may ask for; also what a request that names none gets (within the context).</summary>
    public int MaxTokensCap { get; init; } = 4096;

    /// <summary>Sequences generating at once; each has its own KV cache on the one loaded model.</summary>
    public int Parallel { get; init; } = 4;

    /// <summary>
    /// Continuous batching: the generating requests' rounds verified in one forward. Off, they run one after another
    /// (the same tokens either way; for measuring what batching gains).
    /// </summary>
    public bool Batch { get; init; } = true;

    /// <summary>
    /// Least time between two text events of a stream: rounds that finish sooner go out together with a later one's
    /// (the first text at once). Zero sends every round as it finishes.
    /// </summary>
    public TimeSpan StreamInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Requests waiting for a sequence slot beyond <see cref="Parallel"/>; one more is refused with 429.</summary>
    public int QueueLimit { get; init; } = 64;

    /// <summary>Largest request body; a larger one is refused with 413.</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;

    /// <summary>A request still queued or generating after this long is ended (finish reason "length" if it had started).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Throws a <see cref="SpecDecException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new SpecDecException($"--port must be in [0, 65535] (got {Port})");
        if (MaxTokensCap < 1) throw new SpecDecException($"--max-tokens-cap must be ≥ 1 (got {MaxTokensCap})");
        if (Parallel < 1) throw new SpecDecException($"--parallel must be ≥ 1 (got {Parallel})");
        if (QueueLimit < 0) throw new SpecDecException($"--queue must be ≥ 0 (got {QueueLimit})");
        if (RequestTimeout <= TimeSpan.Zero) throw new SpecDecException($"--timeout must be > 0 (got {RequestTimeout.TotalSeconds} s)");
        if (StreamInterval < TimeSpan.Zero || StreamInterval > TimeSpan.FromSeconds(10)) throw new SpecDecException($"--stream-interval must be in [0, 10000] ms (got {StreamInterval.TotalMilliseconds})");
        if (ApiKey is "") throw new SpecDecException("--api-key must not be empty");
    }
}
