namespace SpecDec.Kernels;

/// <summary>
/// Work for <see cref="WorkerPool.For{TJob}"/>: an unmanaged struct (pointers and sizes only) whose
/// Execute(i) handles work item i. Being unmanaged, it can be shared with the workers by address without
/// boxing, closures or pinning.
/// </summary>
public interface IParallelJob
{
    /// <param name="index">The work item, in [0, count).</param>
    /// <param name="thread">The thread running it, in [0, ThreadCount) (0 is the caller): an index into
    /// per-thread scratch.</param>
    void Execute(int index, int thread);
}
