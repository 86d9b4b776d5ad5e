using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Buffers one matmul call needs, allocated once for the largest call (up to MaxRows activation rows of up to
/// MaxColumns): the quantized activations and two rows of f32 scratch per thread (where f16/bf16 weight rows
/// are converted before being applied to all T rows).
/// </summary>
public sealed unsafe class MatmulWorkspace : IDisposable
{
    readonly NativeBuffer<sbyte> _q8;        // [MaxRows × MaxColumns]
    readonly NativeBuffer<float> _q8Scale;   // [MaxRows × MaxColumns/32]
    readonly NativeBuffer<float> _rowScratch; // [threads × RowScratchStride]

    public MatmulWorkspace(int maxRows, int maxColumns, int threads)
    {
        MaxRows = maxRows;
        MaxColumns = maxColumns;
        RowScratchStride = 2 * ((maxColumns + 15) & ~15); // two weight rows
        _q8 = new NativeBuffer<sbyte>((long)maxRows * maxColumns);
        _q8Scale = new NativeBuffer<float>((long)maxRows * (maxColumns / ActivationQ8.Block + 1));
        _rowScratch = new NativeBuffer<float>((long)threads * RowScratchStride);
        Threads = threads;
    }

    public int MaxRows { get; }
    public int MaxColumns { get; }
    public int Threads { get; }
    internal int RowScratchStride { get; }
    internal sbyte* Q8 => _q8.Pointer;
    internal float* Q8Scale => _q8Scale.Pointer;
    internal float* RowScratch(int thread) => _rowScratch.Pointer + (long)thread * RowScratchStride;

    public void Dispose()
    {
        _q8.Dispose();
        _q8Scale.Dispose();
        _rowScratch.Dispose();
    }
}
