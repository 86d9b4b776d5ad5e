using System.Collections.Concurrent;
using System.Net;
using SpecDec.Generation;

namespace SpecDec.Server;

/// <summary>
/// Runs the requests of one loaded model fairly. At most <c>parallel</c> requests generate at once, each on a
/// <see cref="Generator"/> (its own KV cache) of a fixed set; up to <c>queueLimit</c> more wait for one in
/// arrival order, and a request beyond that is refused (429). The generating requests take turns round by
/// round: a request holds the model for one prefill or one round, then queues behind the others, so a long
/// answer cannot starve a short one and a cancelled request (client gone, timeout) stops at its next turn.
/// The turn is a <see cref="SemaphoreSlim"/>, whose asynchronous waiters are served first in, first out;
/// waiting requests hold no thread.
/// </summary>
internal sealed class RequestScheduler
{
    private readonly ConcurrentBag<Generator> _idle;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly int _capacity;
    private int _admitted;
    private int _generating;

    public RequestScheduler(IEnumerable<Generator> generators, int queueLimit)
    {
        _idle = new ConcurrentBag<Generator>(generators);
        _slots = new SemaphoreSlim(_idle.Count, _idle.Count);
        _capacity = _idle.Count + queueLimit;
    }

    /// <summary>Requests admitted and not yet finished: generating or waiting for a slot.</summary>
    public int Admitted => Volatile.Read(ref _admitted);

    /// <summary>Requests generating (holding a generator).</summary>
    public int Generating => Volatile.Read(ref _generating);

    /// <summary>Requests admitted that wait for a generator: the queue.</summary>
    public int Waiting => Math.Max(0, Admitted - Generating);

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

    /// <summary>Runs <paramref name="work"/> when it is this request's turn on the model.</summary>
    public async ValueTask<T> TurnAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            return work();
        }
        finally
        {
            _turn.Release();
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
