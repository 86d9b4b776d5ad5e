using SpecDec.Kernels.Quant;
using SpecDec.Tensors;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Buffers one matmul call needs, allocated once for the largest call (up to MaxRows activation rows of up to
/// MaxColumns): the quantized activations, the activations scaled for F16 weights, and a row of f32 scratch per thread (where the scalar path converts
/// an f16/bf16 weight row).
/// </summary>
public sealed unsafe class MatmulWorkspace : IDisposable
{
    readonly NativeBuffer<sbyte> _q8;        // [MaxRows × MaxColumns]
    readonly NativeBuffer<float> _q8Scale;   // [MaxRows × MaxColumns/32]
    readonly NativeBuffer<int> _q8Bias;      // [MaxRows × MaxColumns/32]
    readonly NativeBuffer<sbyte> _q8Passes;  // [(MaxRows + passes) × MaxColumns]
    readonly NativeBuffer<sbyte> _q8k;       // [MaxRows × MaxColumns]
    readonly NativeBuffer<float> _q8kScale;  // [MaxRows × MaxColumns/256]
    readonly NativeBuffer<short> _q8kSums;   // [MaxRows × MaxColumns/16]
    readonly NativeBuffer<float> _rowScratch; // [threads × RowScratchStride]
    readonly NativeBuffer<float>? _f32Scaled; // [MaxRows × MaxColumns], or null

    /// <param name="scaledActivations">Whether calls may hold F16 weights read as raw bits, which need the activations
    /// scaled (<see cref="HalfBits"/>); without, those weights are converted exactly and MaxRows × MaxColumns floats are saved.</param>
    public MatmulWorkspace(int maxRows, int maxColumns, int threads, bool scaledActivations = true)
    {
        MaxRows = maxRows;
        MaxColumns = maxColumns;
        RowScratchStride = (maxColumns + 15) & ~15; // one weight row
        _q8 = new NativeBuffer<sbyte>((long)maxRows * maxColumns);
        _q8Scale = new NativeBuffer<float>((long)maxRows * (maxColumns / ActivationQ8.Block + 1));
        _q8Bias = new NativeBuffer<int>((long)maxRows * (maxColumns / ActivationQ8.Block + 1));
        _q8Passes = new NativeBuffer<sbyte>(Q8_0Packed.PassesBytes(maxRows, maxColumns));
        _q8k = new NativeBuffer<sbyte>((long)maxRows * maxColumns);
        _q8kScale = new NativeBuffer<float>((long)maxRows * (maxColumns / ActivationQ8K.Block + 1));
        _q8kSums = new NativeBuffer<short>((long)maxRows * (maxColumns / ActivationQ8K.SumGroup + 1));
        _rowScratch = new NativeBuffer<float>((long)threads * RowScratchStride);
        if (scaledActivations) _f32Scaled = new NativeBuffer<float>((long)maxRows * maxColumns);
        Threads = threads;
    }

    public int MaxRows { get; }
    public int MaxColumns { get; }
    public int Threads { get; }
    internal int RowScratchStride { get; }
    internal sbyte* Q8 => _q8.Pointer;
    internal float* Q8Scale => _q8Scale.Pointer;
    internal int* Q8Bias => _q8Bias.Pointer;
    internal sbyte* Q8Passes => _q8Passes.Pointer;
    internal sbyte* Q8K => _q8k.Pointer;
    internal float* Q8KScale => _q8kScale.Pointer;
    internal short* Q8KSums => _q8kSums.Pointer;
    internal float* F32Scaled => _f32Scaled is null ? null : _f32Scaled.Pointer;
    internal float* RowScratch(int thread) => _rowScratch.Pointer + (long)thread * RowScratchStride;

    public void Dispose()
    {
        _q8.Dispose();
        _q8Scale.Dispose();
        _q8Bias.Dispose();
        _q8Passes.Dispose();
        _q8k.Dispose();
        _q8kScale.Dispose();
        _q8kSums.Dispose();
        _rowScratch.Dispose();
        _f32Scaled?.Dispose();
    }
}
