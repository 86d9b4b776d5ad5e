using SpecDec.Kernels;

namespace SpecDec.Tests.Kernels;

public unsafe class WorkerPoolTests
{
    struct SquareJob : IParallelJob
    {
        public long* Out;
        public int* Threads;
        public void Execute(int index, int thread)
        {
            Out[index] = (long)index * index;
            Threads[index] = thread;
        }
    }

    struct CountJob : IParallelJob
    {
        public int* Counter;
        public void Execute(int index, int thread) => Interlocked.Increment(ref *Counter);
    }

    struct ThrowJob : IParallelJob
    {
        public void Execute(int index, int thread)
        {
            if (index == 37) throw new InvalidOperationException("item 37");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_item_runs_once_on_a_thread_of_the_pool(int threads)
    {
        using var pool = new WorkerPool(threads);
        foreach (int count in new[] { 1, 2, 7, 1000 })
        {
            var squares = new long[count];
            var ran = new int[count];
            fixed (long* o = squares)
            fixed (int* r = ran)
                pool.For(count, new SquareJob { Out = o, Threads = r });
            for (int i = 0; i < count; i++)
            {
                Assert.Equal((long)i * i, squares[i]);
                Assert.InRange(ran[i], 0, threads - 1);
            }
        }
    }

    [Fact]
    public void A_dispatch_below_the_serial_work_runs_every_item_on_the_calling_thread()
    {
        using var pool = new WorkerPool(2);
        const int count = 64;
        foreach (long work in new[] { 0L, WorkerPool.SerialWork - 1, WorkerPool.SerialWork })
        {
            var squares = new long[count];
            var ran = new int[count];
            Array.Fill(ran, -1);
            fixed (long* o = squares)
            fixed (int* r = ran)
                pool.For(count, new SquareJob { Out = o, Threads = r }, work);
            for (int i = 0; i < count; i++) Assert.Equal((long)i * i, squares[i]);
            if (work < WorkerPool.SerialWork) Assert.All(ran, t => Assert.Equal(0, t));
            else Assert.All(ran, t => Assert.InRange(t, 0, 1));
        }
    }

    [Fact]
    public void Many_dispatches_in_a_row_and_after_the_workers_slept_all_complete()
    {
        using var pool = new WorkerPool(2);
        int counter = 0;
        for (int round = 0; round < 2000; round++)
        {
            if (round % 500 == 0) Thread.Sleep(5); // let workers fall asleep, then wake them
            pool.For(16, new CountJob { Counter = &counter });
        }
        Assert.Equal(2000 * 16, counter);
    }

    [Fact]
    public void Back_to_back_dispatches_of_different_sizes_run_every_item_exactly_once()
    {
        // A worker that read the previous dispatch's exhausted state just before the next one was published
        // once compared its item number with the new, larger count, claimed an item, and left the caller
        // waiting forever for a done count it had overshot. Many small/large alternations reach that window.
        using var pool = new WorkerPool(3);
        bool exact = false;
        var caller = new Thread(() => exact = Alternate(pool, 100_000)) { IsBackground = true };
        caller.Start();
        Assert.True(caller.Join(TimeSpan.FromSeconds(60)), "a dispatch never completed");
        Assert.True(exact, "an item ran twice or not at all");
    }

    static bool Alternate(WorkerPool pool, int dispatches)
    {
        int counter = 0;
        for (int i = 0; i < dispatches; i++)
        {
            int count = i % 2 == 0 ? 2 : 9;
            int before = counter;
            pool.For(count, new CountJob { Counter = &counter });
            if (counter - before != count) return false;
        }
        return true;
    }

    [Fact]
    public void An_exception_in_an_item_reaches_the_caller_and_the_pool_stays_usable()
    {
        using var pool = new WorkerPool(2);
        var e = Assert.Throws<InvalidOperationException>(() => pool.For(100, new ThrowJob()));
        Assert.Equal("item 37", e.Message);
        int counter = 0;
        pool.For(10, new CountJob { Counter = &counter });
        Assert.Equal(10, counter);
    }

    [Fact]
    public void Dispatch_allocates_nothing()
    {
        using var pool = new WorkerPool(2);
        int counter = 0;
        pool.For(64, new CountJob { Counter = &counter }); // warm up (JIT)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) pool.For(64, new CountJob { Counter = &counter });
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Thread_count_defaults_to_the_processor_count()
    {
        using var pool = new WorkerPool();
        Assert.Equal(Environment.ProcessorCount, pool.ThreadCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerPool(-1));
    }
}
