using SpecDec.Formats;
using SpecDec.Kernels.Quant;
using SpecDec.Tensors;

namespace SpecDec.Tools.Quantization;

/// <summary>
/// Streams a matrix to a file in a weight type: rows are produced as f32 (random for synthetic models, decoded
/// from the source file when re-quantizing) and quantized in parallel, a chunk at a time, then written in
/// order — K-quant quantization searches scales and is the slow part, so it gets every core; memory stays at
/// one chunk.
/// </summary>
public static class RowWriter
{
    /// <summary>Fills the span with row <c>row</c> (f32, one row length long). Called from several threads.</summary>
    public delegate void RowSource(long row, Span<float> destination);

    const int ChunkBytes = 8 << 20;

    public static void Write(Stream destination, GgmlType type, int rowLength, long rows, RowSource source)
    {
        long rowBytes = GgmlTypeInfo.ByteCount(type, rowLength);
        int chunkRows = (int)Math.Clamp(ChunkBytes / rowBytes, 1, rows);
        var chunk = new byte[chunkRows * rowBytes];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        for (long first = 0; first < rows; first += chunkRows)
        {
            int count = (int)Math.Min(chunkRows, rows - first);
            long start = first;
            Parallel.For(0, count, options, () => new float[rowLength], (i, _, values) =>
            {
                source(start + i, values);
                WeightQuantizer.Row(type, values, chunk.AsSpan((int)(i * rowBytes), (int)rowBytes));
                return values;
            }, _ => { });
            destination.Write(chunk, 0, (int)(count * rowBytes));
        }
    }
}
