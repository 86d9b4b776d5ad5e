using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace SpecDec.Kernels;

/// <summary>
/// A fixed set of threads created once and reused by every kernel. <see cref="For{TJob}"/> hands items
/// [0, count) out one by one (dynamic scheduling, so a core stolen by another process does not stall the
/// rest); the calling thread takes part, so a pool of n threads starts n − 1 workers.
/// Dispatch allocates nothing: the job struct stays on the caller's stack and workers reach it through a
/// pointer and a static generic trampoline. Idle workers spin briefly (kernels of one forward pass follow
/// each other within microseconds) and then sleep on an event until the next dispatch.
/// One dispatch at a time: For is not reentrant and must be called from one thread at a time.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker spins before it sleeps.</summary>
    static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 2000; // 0.5 ms

    readonly Worker[] _workers;
    readonly Thread[] _threads;

    // The dispatch in progress; written by the caller before _generation is bumped.
    delegate*<void*, int, int, void> _invoke;
    void* _job;
    int _count;
    int _next;         // next item to hand out
    int _busy;         // workers still inside the current dispatch
    long _generation;  // bumped once per dispatch; workers wait for it to change
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
            _workers[i] = new Worker { Thread = i + 1 };
            int id = i;
            _threads[i] = new Thread(() => Run(_workers[id])) { IsBackground = true, Name = $"SpecDec worker {id + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that work on each dispatch, the caller included.</summary>
    public int ThreadCount { get; }

    /// <summary>Runs job.Execute(i) for every i in [0, count) on all threads and returns when all are done.</summary>
    public void For<TJob>(int count, TJob job) where TJob : unmanaged, IParallelJob
    {
        if (count <= 0) return;
        if (_workers.Length == 0 || count == 1)
        {
            for (int i = 0; i < count; i++) job.Execute(i, 0);
            return;
        }
        if (Interlocked.Exchange(ref _dispatching, 1) != 0)
            throw new InvalidOperationException("WorkerPool.For is not reentrant and takes one caller at a time");
        ObjectDisposedException.ThrowIf(_stopping, this);

        _invoke = &Trampoline<TJob>.Invoke;
        _job = &job; // job is a by-value parameter: it lives in this frame until every worker is done
        _count = count;
        _next = 0;
        _failure = null;
        Volatile.Write(ref _busy, _workers.Length);
        Interlocked.Increment(ref _generation); // full fence: publishes the fields above, then reads Sleeping
        foreach (Worker w in _workers)
            if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Set();

        Work(0);

        var spin = new SpinWait();
        while (Volatile.Read(ref _busy) != 0) spin.SpinOnce(sleep1Threshold: -1);
        _job = null;
        Volatile.Write(ref _dispatching, 0);
        _failure?.Throw();
    }

    void Work(int thread)
    {
        try
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _count) _invoke(_job, i, thread);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            Volatile.Write(ref _next, int.MaxValue / 2); // stop handing out items
        }
    }

    void Run(Worker self)
    {
        long seen = 0;
        while (true)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            while (Volatile.Read(ref _generation) == seen && !_stopping)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                    continue;
                }
                // Announce the sleep (full fence), then look once more: a dispatch that missed the flag
                // was published before our exchange and is seen here.
                Interlocked.Exchange(ref self.Sleeping, 1);
                if (Volatile.Read(ref _generation) != seen || _stopping)
                {
                    if (Interlocked.Exchange(ref self.Sleeping, 0) == 0) self.Wake.Wait(); // the dispatcher set it: consume
                }
                else self.Wake.Wait();
                self.Wake.Reset();
                start = System.Diagnostics.Stopwatch.GetTimestamp();
            }
            if (_stopping) return;
            seen = Volatile.Read(ref _generation);
            Work(self.Thread);
            Interlocked.Decrement(ref _busy);
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
