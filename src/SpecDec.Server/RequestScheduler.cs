using System.Collections.Concurrent;
using System.Net;
using System.Threading.Tasks.Sources;
using SpecDec.Generation;
using SpecDec.Model;

namespace SpecDec.Server;

/// <summary>
/// Runs the requests of one loaded model, all on one thread of its own ("SpecDec generation"). At most
/// <c>parallel</c> requests generate at once, each on a <see cref="Generator"/> (its own KV cache) of a fixed set;
/// up to <c>queueLimit</c> more wait for one in arrival order, and a request beyond that is refused (429).
/// The generating requests advance together: each pass of the thread runs one round of every request waiting for
/// its next round, their verification forwards batched into one (<see cref="BatchedRounds"/>, continuous batching;
/// without <c>batch</c>, one after another), then one chunk of the oldest waiting prefill. So a long answer cannot
/// starve a short one, a long prompt holds the others up one chunk at a time, and a cancelled request (client
/// gone, timeout) stops at its next round. A round's result completes its request's task on this thread, so the
/// request's code after the await (its event written and sent) runs here too, with no thread woken, and asks for its
/// next round before the next pass.
/// </summary>
internal sealed class RequestScheduler
{
    private readonly ConcurrentBag<Generator> _idle;
    private readonly SemaphoreSlim _slots;
    private readonly int _capacity;
    private int _admitted;
    private int _generating;

    private readonly BatchedRounds _rounds;
    private readonly bool _batch;
    private readonly object _lock = new();
    private List<RoundRequest> _waiting = [];          // requests waiting for their next round (under _lock)
    private List<RoundRequest> _running = [];          // the pass's rounds (the generation thread's)
    private readonly Queue<Work> _exclusive = new();   // prefills waiting, in arrival order (under _lock)
    private readonly RoundRequest[] _active;           // [rounds] the pass's requests that were not cancelled
    private readonly GenerationSession[] _sessions;    // [rounds] their sessions
    private readonly string[] _texts;                  // [rounds] their rounds' texts

    public RequestScheduler(ILanguageModel target, IReadOnlyCollection<Generator> generators, int queueLimit, bool batch)
    {
        _idle = new ConcurrentBag<Generator>(generators);
        _slots = new SemaphoreSlim(_idle.Count, _idle.Count);
        _capacity = _idle.Count + queueLimit;
        _rounds = new BatchedRounds(target);
        _batch = batch;
        _active = new RoundRequest[generators.Count];
        _sessions = new GenerationSession[generators.Count];
        _texts = new string[generators.Count];
        new Thread(Run) { IsBackground = true, Name = "SpecDec generation" }.Start();
    }

    /// <summary>Requests admitted and not yet finished: generating or waiting for a slot.</summary>
    public int Admitted => Volatile.Read(ref _admitted);

    /// <summary>Requests generating (holding a generator).</summary>
    public int Generating => Volatile.Read(ref _generating);

    /// <summary>Requests admitted that wait for a generator: the queue.</summary>
    public int Waiting => Math.Max(0, Admitted - Generating);

    /// <summary>Passes of the generation thread that ran rounds (one batched forward each, more when their rows pass 64).</summary>
    public long Passes => Volatile.Read(ref _passes);

    /// <summary>Rounds those passes ran: over <see cref="Passes"/>, the mean number of requests verified together.</summary>
    public long PassRounds => Volatile.Read(ref _passRounds);

    private long _passes, _passRounds;

    /// <summary>Admits a request, or throws 429 when the slots and the queue are full; dispose the lease when done.</summary>
    public Lease Admit()
    {
        if (Interlocked.Increment(ref _admitted) > _capacity)
        {
            Interlocked.Decrement(ref _admitted);
            throw new ApiException(HttpStatusCode.TooManyRequests,
                $"the server is busy: {_capacity} requests are generating or queued; retry later", "rate_limit_exceeded", "queue_full");
        }
        return new Lease(this);
    }

    /// <summary>Runs <paramref name="work"/> (a prefill) on the generation thread, alone, in arrival order.</summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken) => RunAsync(work, cancellationToken, repeatWhileNull: false);

    private Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken, bool repeatWhileNull)
    {
        var item = new Work<T>(work, cancellationToken, repeatWhileNull);
        lock (_lock)
        {
            _exclusive.Enqueue(item);
            Monitor.Pulse(_lock);
        }
        return item.Task;
    }

    /// <summary>
    /// Prefills <paramref name="session"/> on the generation thread one chunk of at most 64 prompt tokens per pass,
    /// between the passes' rounds, so a long prompt holds the other requests up by one chunk at a time, never for
    /// its whole prefill. The oldest waiting prefill runs to its end before the next starts. Its result is the first
    /// token's text (<see cref="GenerationSession.PrefillStep"/>; never null), and the request's code that sends it runs on
    /// the generation thread right after the last chunk, before the next pass.
    /// </summary>
    public Task<string?> PrefillAsync(GenerationSession session, CancellationToken cancellationToken) =>
        RunAsync(session.PrefillStep, cancellationToken, repeatWhileNull: true);

    /// <summary>The next round of <paramref name="request"/>'s session, together with the other requests' rounds; its text.</summary>
    public ValueTask<string> StepAsync(RoundRequest request)
    {
        var next = request.Next();
        lock (_lock)
        {
            _waiting.Add(request);
            Monitor.Pulse(_lock);
        }
        return next;
    }

    private void Run()
    {
        while (true)
        {
            Work? exclusive;
            lock (_lock)
            {
                while (_waiting.Count == 0 && _exclusive.Count == 0) Monitor.Wait(_lock);
                (_running, _waiting) = (_waiting, _running);
                _exclusive.TryPeek(out exclusive);
            }
            if (_running.Count > 0) Rounds();
            if (exclusive is not null && exclusive.Run())
                lock (_lock) _exclusive.Dequeue();
        }
    }

    /// <summary>One round of each request in <see cref="_running"/> (a cancelled one is ended instead), then each one's continuation.</summary>
    private void Rounds()
    {
        int n = 0;
        foreach (var round in _running)
            if (round.Cancel.IsCancellationRequested) round.Fail(new OperationCanceledException(round.Cancel));
            else
            {
                _active[n] = round;
                _sessions[n++] = round.Session;
            }
        _running.Clear();
        if (n == 0) return;
        Interlocked.Increment(ref _passes);
        Interlocked.Add(ref _passRounds, n);
        Exception? failure = null;
        try
        {
            if (_batch) _rounds.Step(_sessions.AsSpan(0, n), _texts);
            else
                for (int i = 0; i < n; i++) _texts[i] = _sessions[i].Step();
        }
        catch (Exception e)
        {
            failure = e;
        }
        for (int i = 0; i < n; i++)
        {
            if (failure is null) _active[i].Complete(_texts[i]); // runs the request's code up to its next await, here
            else _active[i].Fail(failure);
        }
        _active.AsSpan(0, n).Clear();
        _sessions.AsSpan(0, n).Clear();
        _texts.AsSpan(0, n).Clear();
    }

    /// <summary>
    /// A request's rounds: awaited once per round and reset for the next, so a round allocates nothing here. Its
    /// continuation runs on the generation thread, inline.
    /// </summary>
    public sealed class RoundRequest(GenerationSession session, CancellationToken cancel) : IValueTaskSource<string>
    {
        private ManualResetValueTaskSourceCore<string> _core; // continuations run synchronously (the default)

        public GenerationSession Session => session;
        public CancellationToken Cancel => cancel;

        internal ValueTask<string> Next()
        {
            _core.Reset();
            return new ValueTask<string>(this, _core.Version);
        }

        internal void Complete(string text) => _core.SetResult(text);
        internal void Fail(Exception e) => _core.SetException(e);

        public string GetResult(short token) => _core.GetResult(token);
        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);
        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    private abstract class Work
    {
        /// <summary>Runs one step; true when the work is over (its task completed).</summary>
        public abstract bool Run();
    }

    /// <summary>
    /// Work for the generation thread, one step per pass: once, or (<c>repeatWhileNull</c>, a chunked prefill)
    /// again each pass until it returns a value.
    /// </summary>
    private sealed class Work<T>(Func<T> work, CancellationToken cancel, bool repeatWhileNull) : Work
    {
        private readonly TaskCompletionSource<T> _done = new();

        public Task<T> Task => _done.Task;

        public override bool Run()
        {
            if (cancel.IsCancellationRequested)
            {
                _done.TrySetCanceled(cancel);
                return true;
            }
            T result;
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                _done.TrySetException(e);
                return true;
            }
            if (repeatWhileNull && result is null) return false;
            _done.TrySetResult(result); // runs the request's code up to its next await, here
            return true;
        }
    }

    /// <summary>An admitted request: it waits for a generator, and gives it (and its place) back on dispose.</summary>
    public sealed class Lease(RequestScheduler owner) : IDisposable
    {
        private Generator? _generator;
        private bool _disposed;

        public async ValueTask<Generator> GeneratorAsync(CancellationToken cancellationToken)
        {
            if (_generator is not null) return _generator;
            await owner._slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            owner._idle.TryTake(out _generator);
            Interlocked.Increment(ref owner._generating);
            return _generator!;
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_generator is not null)
            {
                owner._idle.Add(_generator);
                Interlocked.Decrement(ref owner._generating);
                owner._slots.Release();
            }
            Interlocked.Decrement(ref owner._admitted);
        }
    }
}
