using SpecDec.Formats;
using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Kernels.Quant;

namespace SpecDec.Benchmarks;

/// <summary>
/// A random weight matrix of one type, repeated to fill 256 MB. <see cref="Next"/> hands the copies out in
/// turn, so by the time a copy comes back the caches have long dropped it: every operation reads its weights
/// from DRAM, as decoding does (a model's weights pass through the caches once per token).
/// </summary>
sealed unsafe class ColdWeights : IDisposable
{
    const long FillBytes = 256L << 20;

    readonly NativeBuffer<byte> _copies;
    readonly GgmlType _type;
    readonly int _rows, _columns, _count;
    int _next;

    public ColdWeights(GgmlType type, int rows, int columns, int seed)
    {
        (_type, _rows, _columns) = (type, rows, columns);
        long rowBytes = GgmlTypeInfo.ByteCount(type, columns);
        MatrixBytes = rowBytes * rows;
        _count = (int)Math.Max(2, FillBytes / MatrixBytes);
        _copies = new NativeBuffer<byte>(MatrixBytes * _count);
        using NativeBuffer<float> values = Inputs.Random((long)rows * columns, seed);
        for (int r = 0; r < rows; r++)
            WeightQuantizer.Row(type, values.Span.Slice(r * columns, columns), new Span<byte>(_copies.Pointer + r * rowBytes, (int)rowBytes));
        for (int c = 1; c < _count; c++)
            Buffer.MemoryCopy(_copies.Pointer, _copies.Pointer + c * MatrixBytes, MatrixBytes, MatrixBytes);
    }

    public long MatrixBytes { get; }

    public LinearWeight Next()
    {
        var weight = new LinearWeight(_type, _copies.Pointer + _next * MatrixBytes, _rows, _columns);
        _next = (_next + 1) % _count;
        return weight;
    }

    public void Dispose() => _copies.Dispose();
}
