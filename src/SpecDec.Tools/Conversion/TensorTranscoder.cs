using SpecDec.Formats;
using SpecDec.Kernels;
using SpecDec.Kernels.Quant;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tools.Conversion;

/// <summary>
/// Streams a tensor into another type, one row at a time (row buffers only, never the whole tensor):
/// source rows are read as f32 and written as the target type, optionally in a different row order.
/// </summary>
internal static unsafe class TensorTranscoder
{
    /// <param name="sourceRows">Output row r takes source row sourceRows[r]; null keeps the order.</param>
    /// <param name="add">Added to every value (Gemma's norm weights: GGUF stores 1 + w).</param>
    public static void Write(WeightTensor source, GgmlType target, int[]? sourceRows, Stream destination, float add = 0)
    {
        int k = source.RowLength;
        long rows = source.RowCount;
        if (source.Type == target && sourceRows is null && add == 0)
        {
            // Same type, same order: the bytes as they are (re-quantizing a Q8_0 row can move its scale's rounding).
            for (long r = 0; r < rows; r++) destination.Write(source.RowSpan(r));
            return;
        }
        var values = new float[k]; // [k] one row as f32
        var encoded = new byte[GgmlTypeInfo.ByteCount(target, k)];
        fixed (float* dst = values)
        {
            for (long r = 0; r < rows; r++)
            {
                long from = sourceRows is null ? r : sourceRows[r];
                byte* src = (byte*)source.Data + from * source.RowBytes;
                Dequantize.Row(source.Type, src, dst, k, Simd.Best);
                if (add != 0) System.Numerics.Tensors.TensorPrimitives.Add(values, add, values);
                WeightQuantizer.Row(target, values, encoded);
                destination.Write(encoded);
            }
        }
    }
}
