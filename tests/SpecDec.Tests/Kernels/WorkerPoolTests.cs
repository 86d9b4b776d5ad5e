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
