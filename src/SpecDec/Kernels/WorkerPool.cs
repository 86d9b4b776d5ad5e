using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace SpecDec.Kernels;

/// <summary>
/// A fixed set of threads created once and reused by every kernel. <see cref="For{TJob}"/> hands items
/// [0, count) out one by one; the calling thread takes part, so a pool of n threads starts n − 1 workers.
/// Dispatch allocates nothing: the job struct stays on the caller's stack and workers reach it through a
/// pointer and a static generic trampoline.
/// An item is claimed by a compare-and-swap on one word holding (dispatch number, item count, next item), so a
/// worker that wakes late (its core taken by another process) can only claim items of the dispatch it saw,
/// judged against that dispatch's own count, and the caller waits only for items actually in progress, never
/// for a worker that has not started: on a busy machine the caller simply does the remaining items itself.
/// Idle workers spin briefly (kernels of one forward pass follow each other within microseconds), then
/// sleep on an event until the next dispatch. For is not reentrant: one caller at a time.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker spins before it sleeps.</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 2000; // 0.5 ms

    readonly Worker[] _workers;
    readonly Thread[] _threads;

    // The dispatch in progress, published by the write of _state that starts it.
    delegate*<void*, int, int, void> _invoke;
    void* _job;
    long _state;       // dispatch number << 32 | item count << 16 | next item to hand out
    int _done;         // items finished in the current dispatch
    volatile bool _failed;
    volatile bool _stopping;
    ExceptionDispatchInfo? _failure;
    int _dispatching;

    sealed class Worker
    {
        public readonly ManualResetEventSlim Wake = new(false, spinCount: 1);
        public required int Thread;
        public int Sleeping;
    }

    /// <param name="threads">Threads working on each dispatch, the caller included; 0 means
    /// <see cref="Environment.ProcessorCount"/>.</param>
    public WorkerPool(int threads = 0)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "thread count must be ≥ 0");
        ThreadCount = threads == 0 ? Environment.ProcessorCount : threads;
        _workers = new Worker[ThreadCount - 1];
        _threads = new Thread[ThreadCount - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            Worker worker = _workers[i] = new Worker { Thread = i + 1 };
            _threads[i] = new Thread(() => Run(worker)) { IsBackground = true, Name = $"SpecDec worker {i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that work on each dispatch, the caller included.</summary>
    public int ThreadCount { get; }

    /// <summary>
    /// Held by a caller for the whole of a multi-dispatch task (a model's forward pass): the pool runs one
    /// dispatch at a time, and the caller's scratch is shared across its dispatches, so such tasks take turns.
    /// </summary>
    public Lock Gate { get; } = new();

    /// <summary>Most items one dispatch hands out.</summary>
    public const int MaxItems = 0xFFFF;

    /// <summary>
    /// Work (in multiply-adds) below which <see cref="For{TJob}(int, TJob, long)"/> runs on the calling thread
    /// alone: about 15 µs on one core. Sharing so little costs more than it saves — item claims, the
    /// activations and outputs crossing to the other core's cache, waiting for its last item — as measured on
    /// the demo models: a 2-thread T = 1 forward of draft-small took 164 µs with every product shared and
    /// 115 µs with the small ones serial; the target's decode went from about 1310 to 1460 tok/s, and
    /// thresholds of 0.5 M to 1 M did best.
    /// </summary>
    public const long SerialWork = 1 << 20;

    /// <summary>
    /// <see cref="For{TJob}(int, TJob)"/> for a dispatch whose items do <paramref name="work"/> multiply-adds
    /// in all: below <see cref="SerialWork"/> the caller runs every item itself.
    /// </summary>
    public void For<TJob>(int count, TJob job, long work) where TJob : unmanaged, IParallelJob
    {
        if (work < SerialWork)
        {
            for (int i = 0; i < count; i++) job.Execute(i, 0);
            return;
        }
        For(count, job);
    }

    /// <summary>Runs job.Execute(i, thread) for every i in [0, count) and returns when all are done.</summary>
    public void For<TJob>(int count, TJob job) where TJob : unmanaged, IParallelJob
    {
        if (count <= 0) return;
        if (count > MaxItems) throw new ArgumentOutOfRangeException(nameof(count), count, $"a dispatch holds at most {MaxItems} items");
        if (_workers.Length == 0 || count == 1)
        {
            for (int i = 0; i < count; i++) job.Execute(i, 0);
            return;
        }
        if (Interlocked.Exchange(ref _dispatching, 1) != 0)
            throw new InvalidOperationException("WorkerPool.For is not reentrant and takes one caller at a time");
        ObjectDisposedException.ThrowIf(_stopping, this);

        _invoke = &Trampoline<TJob>.Invoke;
        _job = &job; // a by-value parameter: it lives in this frame until every claimed item is done
        _done = 0;
        _failed = false;
        _failure = null;
        long dispatch = (_state >> 32) + 1;
        // Full fence: publishes the fields above, then reads Sleeping. The count travels in the same word, so a
        // worker still holding the previous dispatch's exhausted state cannot read this count and claim past it.
        Interlocked.Exchange(ref _state, dispatch << 32 | (long)count << 16);
        foreach (Worker w in _workers)
            if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Set();

        Work(dispatch, 0);

        var spin = new SpinWait();
        while (Volatile.Read(ref _done) != count) spin.SpinOnce(sleep1Threshold: -1);
        _job = null;
        Volatile.Write(ref _dispatching, 0);
        _failure?.Throw();
    }

    /// <summary>Claims and runs items of dispatch <paramref name="dispatch"/> until none are left.</summary>
    void Work(long dispatch, int thread)
    {
        while (true)
        {
            long state = Volatile.Read(ref _state);
            if (state >> 32 != dispatch) return;
            int item = (int)(state & 0xFFFF), count = (int)(state >> 16 & 0xFFFF);
            if (item >= count) return;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) != state) continue;
            try
            {
                if (!_failed) _invoke(_job, item, thread);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                _failed = true; // the remaining items are claimed but skipped
            }
            Interlocked.Increment(ref _done);
        }
    }

    void Run(Worker self)
    {
        long seen = 0;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            long dispatch;
            while ((dispatch = Volatile.Read(ref _state) >> 32) == seen && !_stopping)
            {
                if (Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                    continue;
                }
                // Announce the sleep (full fence), then look once more: a dispatch that missed the flag
                // was published before our exchange and is seen here.
                Interlocked.Exchange(ref self.Sleeping, 1);
                if (Volatile.Read(ref _state) >> 32 != seen || _stopping)
                {
                    if (Interlocked.Exchange(ref self.Sleeping, 0) == 0) self.Wake.Wait(); // the dispatcher set it: consume
                }
                else self.Wake.Wait();
                self.Wake.Reset();
                start = Stopwatch.GetTimestamp();
            }
            if (_stopping) return;
            seen = dispatch;
            Work(dispatch, self.Thread);
        }
    }

    static class Trampoline<TJob> where TJob : unmanaged, IParallelJob
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke(void* job, int index, int thread) => ((TJob*)job)->Execute(index, thread);
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        foreach (Worker w in _workers) w.Wake.Set();
        foreach (Thread t in _threads) t.Join();
        foreach (Worker w in _workers) w.Wake.Dispose();
    }
}
