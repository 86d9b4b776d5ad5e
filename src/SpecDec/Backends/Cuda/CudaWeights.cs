using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Backends.Cuda;

/// <summary>
/// A matrix W[Rows × Columns] on the device, rows Ld elements apart (Columns rounded up to 32, zero padded):
/// F32/F16/BF16 as in the file; Q8_0 split into int8 quants [Rows × Ld] and f16 scales [Rows × Ld/32] (Scales), so
/// the kernels read both in aligned 16-byte pieces.
/// </summary>
internal sealed record DeviceMatrix(GgmlType Type, ulong Data, ulong Scales, int Rows, int Columns, int Ld);

/// <summary>
/// One block's matrices and vectors on the device (vectors f32; 0 where the architecture has none). Q, K and V are
/// one matrix (Qkv: their rows stacked, one launch) when they share a type and their row counts are whole 32s;
/// else three (Q, K, V), written into the same places of the activations.
/// </summary>
internal sealed record DeviceLayer(DeviceMatrix? Qkv, DeviceMatrix? Q, DeviceMatrix? K, DeviceMatrix? V, DeviceMatrix Output,
    DeviceMatrix Gate, DeviceMatrix Up, DeviceMatrix Down, ulong AttentionNorm, ulong FfnNorm,
    ulong QBias, ulong KBias, ulong VBias, ulong QNorm, ulong KNorm);

/// <summary>
/// <see cref="ModelWeights"/> uploaded to one GPU once: matrices as <see cref="DeviceMatrix"/>, norms and biases
/// and RoPE's inverse frequencies as f32. token_embd stays in the mapped file on the host: a forward dequantizes
/// only its tokens' rows there (any type) and uploads them with the batch.
/// </summary>
internal sealed unsafe class CudaWeights : IDisposable
{
    readonly CudaDevice _device;
    readonly List<DeviceBuffer> _buffers = [];

    public CudaWeights(CudaDevice device, ModelWeights model)
    {
        _device = device;
        ModelConfig c = model.Config;
        // Gemma's pieces, mixtures of experts, OLMoE's norms and LongRoPE are the CPU backend's for now: refused by name rather than computed wrongly.
        string? unsupported = c.Activation != FfnActivation.Silu ? $"the {c.Activation} feed-forward"
            : c.NormWeightOffset != 0 || c.EmbeddingScale != 1f || c.PostNorms ? "Gemma's norms and embedding scale"
            : c.AttentionScale is not null || c.AttentionSoftcap != 0 || c.FinalLogitSoftcap != 0 ? "attention scales and soft-caps"
            : c.SlidingWindow != 0 ? "sliding-window attention"
            : c.IsMoe ? "a mixture of experts" : c.QkNormWhole ? "whole-projection Q/K norms"
            : c.RopeAttentionFactor != 1f || model.RopeFactorsLong is not null ? "LongRoPE (its short and long factors and attention factor)" : null;
        if (unsupported is not null)
            throw new SpecDecException($"{model.Source.Path}: {c.Architecture} uses {unsupported}, which the CUDA backend does not run yet; use --device cpu");
        IEnumerable<WeightTensor> matrices = model.Layers.SelectMany(l => l.Matrices).Append(model.OutputHead);
        if (model.InputProjection is { } fc) matrices = matrices.Append(fc);
        foreach (WeightTensor t in matrices)
            if (!CudaKernels.MatrixTypes.Contains(t.Type))
                throw new SpecDecException($"{model.Source.Path}: tensor {t.Name} is {t.Type}; the CUDA backend computes with "
                    + $"{string.Join(", ", CudaKernels.MatrixTypes)} matrices (re-quantize with `specdec quantize --type q8_0`)");
        if (model.Layers.SelectMany(l => l.Matrices).Append(model.OutputHead).Max(t => t.Dims[1]) > 4L * 65535)
            throw new SpecDecException($"{model.Source.Path}: a matrix has more than {4 * 65535} rows, past the matmul grid's reach");
        if (c.HeadDim > 256 || c.HeadDim % 4 != 0) throw new SpecDecException($"{model.Source.Path}: head dimension {c.HeadDim}; the CUDA attention kernel takes multiples of 4 up to 256");
        try
        {
            Embedding = model.Embedding;
            OutputHead = Matrix(model.OutputHead);
            OutputNorm = Optional(model.OutputNorm); // 0 for an EAGLE head: its head reads the block's output
            if (model.InputProjection is { } projection)
            {
                InputProjection = Matrix(projection);
                float[] bias = Floats(model.InputBias!);
                var rows = new float[CudaBuffers.Rows * Pad(c.HiddenSize)];
                for (int r = 0; r < CudaBuffers.Rows; r++) bias.CopyTo(rows, r * Pad(c.HiddenSize));
                fixed (float* b = rows) InputBiasRows = Upload(b, rows.Length * sizeof(float));
            }
            Layers = model.Layers.Select(t => Fused(t)
                ? new DeviceLayer(Matrix(t.Q, t.K, t.V), null, null, null, Matrix(t.Output), Matrix(t.Gate!), Matrix(t.Up!), Matrix(t.Down!),
                    Optional(t.AttentionNorm), Vector(t.FfnNorm), Optional(t.QBias), Optional(t.KBias), Optional(t.VBias),
                    Optional(t.QNorm), Optional(t.KNorm))
                : new DeviceLayer(null, Matrix(t.Q), Matrix(t.K), Matrix(t.V), Matrix(t.Output), Matrix(t.Gate!), Matrix(t.Up!), Matrix(t.Down!),
                Optional(t.AttentionNorm), Vector(t.FfnNorm), Optional(t.QBias), Optional(t.KBias), Optional(t.VBias),
                Optional(t.QNorm), Optional(t.KNorm))).ToArray();
            float[] frequencies = model.RopeFactors is { } factors ? RopeFrequencies.Of(c, Floats(factors)) : RopeFrequencies.Of(c);
            fixed (float* f = frequencies) InverseFrequencies = Upload(f, frequencies.Length * sizeof(float));
            Bytes = _buffers.Sum(b => b.Bytes);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>token_embd, still mapped on the host.</summary>
    public WeightTensor Embedding { get; }
    public DeviceMatrix OutputHead { get; }
    /// <summary>[hidden] f32; 0 for an EAGLE head (no final norm).</summary>
    public ulong OutputNorm { get; }
    public DeviceLayer[] Layers { get; }

    /// <summary>An EAGLE head's fc [hidden × 2·hidden] (over [embedding; feature]); null otherwise.</summary>
    public DeviceMatrix? InputProjection { get; }

    /// <summary>
    /// [Rows × Pad(hidden)] f32: fc's bias repeated in every row, copied into the residual before fc adds its
    /// products (b + s, the CPU's s + b); 0 without fc.
    /// </summary>
    public ulong InputBiasRows { get; }

    /// <summary>Every matrix on the device.</summary>
    public IEnumerable<DeviceMatrix> Matrices =>
        Layers.SelectMany(l => new[] { l.Qkv, l.Q, l.K, l.V, l.Output, l.Gate, l.Up, l.Down }).Append(InputProjection).OfType<DeviceMatrix>().Append(OutputHead);

    /// <summary>[HeadDim/2] f32.</summary>
    public ulong InverseFrequencies { get; }

    /// <summary>Device bytes the weights take.</summary>
    public long Bytes { get; }

    /// <summary>Elements <paramref name="n"/> rounded up to the padded row length the kernels read.</summary>
    public static int Pad(int n) => (n + 31) / 32 * 32;

    /// <summary>Whether a block's Q, K and V go up as one matrix (see <see cref="DeviceLayer"/>).</summary>
    static bool Fused(LayerTensors t) => t.Q.Type == t.K.Type && t.K.Type == t.V.Type && t.Q.Dims[1] % 32 == 0 && t.K.Dims[1] % 32 == 0;

    /// <summary>The rows of <paramref name="parts"/> (one type, one row length) stacked into one device matrix.</summary>
    DeviceMatrix Matrix(params WeightTensor[] parts)
    {
        GgmlType type = parts[0].Type;
        int columns = checked((int)parts[0].Dims[0]), ld = Pad(columns);
        int rows = parts.Sum(p => checked((int)p.Dims[1]));
        bool q8 = type == GgmlType.Q8_0;
        long rowBytes = q8 ? ld : (long)ld * GgmlTypeInfo.ByteCount(type, 1);
        var data = new DeviceBuffer(_device, rows * rowBytes);
        _buffers.Add(data);
        DeviceBuffer? scales = q8 ? new DeviceBuffer(_device, (long)rows * (ld / 32) * sizeof(ushort)) : null;
        if (scales is not null) _buffers.Add(scales);
        int row = 0;
        foreach (WeightTensor t in parts)
        {
            int n = checked((int)t.Dims[1]);
            if (q8) UploadQ8_0(t, n, columns, data, scales!, row);
            else UploadRows(t, n, columns, ld, data, row);
            row += n;
        }
        return new DeviceMatrix(type, data.Pointer, scales?.Pointer ?? 0, rows, columns, ld);
    }

    /// <summary>F32/F16/BF16 rows into their padded places from row <paramref name="row"/> on: one copy when unpadded.</summary>
    static void UploadRows(WeightTensor t, int rows, int columns, int ld, DeviceBuffer data, int row)
    {
        byte* src = (byte*)t.Data;
        long element = GgmlTypeInfo.ByteCount(t.Type, 1);
        if (ld == columns)
        {
            data.Upload(src, (long)rows * columns * element, (long)row * ld * element);
            return;
        }
        // Small models only (a row length off 32): rows copied one by one.
        for (long r = 0; r < rows; r++) data.Upload(src + r * columns * element, columns * element, (row + r) * ld * element);
    }

    /// <summary>Q8_0 blocks (f16 scale + 32 int8) split into quants and scales, a slab of rows at a time.</summary>
    static void UploadQ8_0(WeightTensor t, int rows, int columns, DeviceBuffer quants, DeviceBuffer scales, int row)
    {
        int blocks = columns / 32;
        int slab = Math.Max(1, (1 << 24) / columns);
        var q = new byte[(long)Math.Min(slab, rows) * columns];
        var s = new ushort[(long)Math.Min(slab, rows) * blocks];
        byte* src = (byte*)t.Data;
        for (int r0 = 0; r0 < rows; r0 += slab)
        {
            int n = Math.Min(slab, rows - r0);
            for (long b = 0; b < (long)n * blocks; b++)
            {
                byte* block = src + ((long)r0 * blocks + b) * 34;
                s[b] = *(ushort*)block;
                new ReadOnlySpan<byte>(block + 2, 32).CopyTo(q.AsSpan((int)(b * 32), 32));
            }
            long first = (long)row + r0;
            fixed (byte* qp = q) quants.Upload(qp, (long)n * columns, first * columns);
            fixed (ushort* sp = s) scales.Upload(sp, (long)n * blocks * sizeof(ushort), first * blocks * sizeof(ushort));
        }
    }

    ulong Vector(WeightTensor t)
    {
        float[] values = Floats(t);
        fixed (float* v = values) return Upload(v, values.Length * sizeof(float));
    }

    ulong Optional(WeightTensor? t) => t is null ? 0 : Vector(t);

    static float[] Floats(WeightTensor t)
    {
        var values = new float[checked((int)t.ElementCount)];
        fixed (float* v = values) Dequantize.Row(t.Type, (byte*)t.Data, v, values.Length, SimdLevel.Scalar);
        return values;
    }

    ulong Upload(void* source, long bytes)
    {
        var buffer = new DeviceBuffer(_device, bytes);
        _buffers.Add(buffer);
        buffer.Upload(source, bytes);
        return buffer.Pointer;
    }

    public void Dispose()
    {
        foreach (DeviceBuffer b in _buffers) b.Dispose();
        _buffers.Clear();
    }
}
