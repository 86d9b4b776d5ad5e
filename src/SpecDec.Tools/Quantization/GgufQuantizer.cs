using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tools.Quantization;

/// <summary>
/// GGUF → GGUF in another <see cref="QuantScheme"/>: metadata copied (general.file_type updated), each tensor's
/// type chosen by <see cref="QuantPlan"/>, rows decoded to f32 and re-encoded (tensors already in their target
/// type are copied byte for byte, so nothing degrades twice).
/// </summary>
public static unsafe class GgufQuantizer
{
    /// <summary>Called after each tensor with its name, source type and written type.</summary>
    public delegate void Progress(WeightTensor tensor, GgmlType written);

    public static void Quantize(string input, string output, QuantScheme scheme, Progress? progress = null, CancellationToken cancel = default)
    {
        OutputFile.CheckNotInput(output, [input]);
        using GgufFile source = GgufFile.Open(input);
        var writer = new GgufWriter();
        foreach ((string key, object value) in source.Metadata)
        {
            if (key is GgufKeys.FileType or GgufKeys.QuantizationVersion) continue;
            writer.Add(key, value);
        }
        writer.Add(GgufKeys.FileType, QuantPlan.FileType(scheme));
        writer.Add(GgufKeys.QuantizationVersion, 2u);

        int layers = LayerCount(source), gqa = QueriesPerKvHead(source);
        bool tied = source.Tensors.All(t => t.Name != TensorNames.Output);
        foreach (WeightTensor tensor in source.Tensors)
        {
            GgmlType type = QuantPlan.TypeFor(scheme, tensor.Name, tensor.Dims, layers, tied, gqa);
            if (type != tensor.Type && !Dequantize.Supports(tensor.Type))
                throw new ModelFormatException(input, $"tensor '{tensor.Name}' is {tensor.Type}, which SpecDec cannot decode to re-quantize");
            writer.AddTensor(tensor.Name, type, tensor.Dims, stream =>
            {
                if (type == tensor.Type) CopyBytes(tensor, stream);
                else
                    RowWriter.Write(stream, type, tensor.RowLength, tensor.RowCount, (row, values) =>
                    {
                        fixed (float* dst = values)
                            Dequantize.Row(tensor.Type, (byte*)tensor.Data + row * tensor.RowBytes, dst, tensor.RowLength, SimdLevel.Scalar);
                    });
                progress?.Invoke(tensor, type);
            });
        }
        writer.Write(output, cancel);
    }

    static void CopyBytes(WeightTensor tensor, Stream stream)
    {
        const int chunk = 1 << 24;
        for (long offset = 0; offset < tensor.ByteLength; offset += chunk)
            stream.Write(new ReadOnlySpan<byte>((byte*)tensor.Data + offset, (int)Math.Min(chunk, tensor.ByteLength - offset)));
    }

    /// <summary>The architecture's block_count key, else one past the highest "blk.N." in the tensor names.</summary>
    /// <summary>head_count / head_count_kv (llama.cpp's n_gqa), 1 where the file does not say.</summary>
    static int QueriesPerKvHead(GgufFile file) =>
        file.Metadata.TryGetValue(GgufKeys.Architecture, out object? arch) && arch is string a
        && file.Metadata.TryGetValue(GgufKeys.HeadCount(a), out object? heads) && heads is uint h
        && file.Metadata.TryGetValue(GgufKeys.HeadCountKv(a), out object? kv) && kv is uint k && k > 0 ? (int)(h / k) : 1;

    static int LayerCount(GgufFile file)
    {
        if (file.Metadata.TryGetValue(GgufKeys.Architecture, out object? arch) && arch is string a
            && file.Metadata.TryGetValue(GgufKeys.BlockCount(a), out object? count) && count is uint n)
            return (int)n;
        int layers = 0;
        for (int l = 0; file.Tensors.Any(t => t.Name.StartsWith($"blk.{l}.", StringComparison.Ordinal)); l++) layers = l + 1;
        return layers;
    }
}
