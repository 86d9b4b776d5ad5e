using SpecDec.Formats;
using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Kernels.Quant;
using SpecDec.Tensors;

namespace SpecDec.Benchmarks;

/// <summary>
/// A random weight matrix of one type, repeated to fill 256 MB. <see cref="Next"/> hands the copies out in
/// turn, so by the time a copy comes back the caches have long dropped it: every operation reads its weights
/// from DRAM, as decoding does (a model's weights pass through the caches once per token). Q8_0 copies are
/// also repacked where the engine does so at load (<see cref="Q8_0Packed"/>), so the kernel timed is the one
/// models run.
/// </summary>
sealed unsafe class ColdWeights : IDisposable
{
    const long FillBytes = 256L << 20;

    readonly NativeBuffer<byte> _copies;
    readonly LinearWeight[] _weights;
    readonly List<NativeBuffer<byte>> _packed = [];
    readonly int _count;
    int _next;

    public ColdWeights(GgmlType type, int rows, int columns, int seed)
    {
        long rowBytes = GgmlTypeInfo.ByteCount(type, columns);
        MatrixBytes = rowBytes * rows;
        _count = (int)Math.Max(2, FillBytes / MatrixBytes);
        _copies = new NativeBuffer<byte>(MatrixBytes * _count);
        using NativeBuffer<float> values = Inputs.Random((long)rows * columns, seed);
        for (int r = 0; r < rows; r++)
            WeightQuantizer.Row(type, values.Span.Slice(r * columns, columns), new Span<byte>(_copies.Pointer + r * rowBytes, (int)rowBytes));
        for (int c = 1; c < _count; c++)
            Buffer.MemoryCopy(_copies.Pointer, _copies.Pointer + c * MatrixBytes, MatrixBytes, MatrixBytes);
        _weights = new LinearWeight[_count];
        for (int c = 0; c < _count; c++)
        {
            _weights[c] = new LinearWeight(type, _copies.Pointer + c * MatrixBytes, rows, columns).WithFiniteHalvesChecked();
            if (!PackedWeights.Applies(type, Simd.Best)) continue;
            (_weights[c], NativeBuffer<byte> buffer) = PackedWeights.Pack(_weights[c]);
            _packed.Add(buffer);
        }
    }

    public long MatrixBytes { get; }

    public LinearWeight Next()
    {
        LinearWeight weight = _weights[_next];
        _next = (_next + 1) % _count;
        return weight;
    }

    public void Dispose()
    {
        _copies.Dispose();
        foreach (NativeBuffer<byte> buffer in _packed) buffer.Dispose();
    }
}
