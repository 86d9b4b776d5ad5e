using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Backends.Cuda;

/// <summary>
/// A Llama-family decoder (Llama 2/3, Mistral, Qwen2, Qwen3) on an NVIDIA GPU: the CPU backend's forward, step for
/// step, with the weights, activations and KV cache in device memory. Per chunk of up to 64 rows: the tokens'
/// embedding rows (dequantized on the host from the mapped file) and the positions and visibility bits go up in
/// two copies; per block RMSNorm → Q, K, V (one stacked matrix) → biases, q/k norms, RoPE, K and V into the cache → attention over the
/// cache → output projection added to the residual → RMSNorm → gate and up with SwiGLU fused → down added to the
/// residual; then the final norm of only the rows whose logits are wanted, the head, and the logits come back.
/// Hidden states come back only for the layers a batch asks for. Thread-safe as the CPU's: forwards take turns on
/// the device's <see cref="CudaDevice.Gate"/>. An EAGLE head runs on it too (<see cref="LoadEagleHead"/>).
/// </summary>
public sealed unsafe partial class CudaTransformer : ILanguageModel, IOutputHeadRows
{
    const int MaxRows = ForwardBatch.MaxRows;
    const uint Threads = 128; // the kernels' WARPS × 32

    readonly ModelWeights _model;
    readonly CudaDevice _device;
    readonly CudaKernels _k;
    readonly CudaWeights _weights;
    readonly CudaBuffers _b;
    readonly CudaGraphs? _graphs;
    readonly int _hidden;
    readonly bool _eagle; // an EAGLE head: fc over [embedding; feature] in, no input or final norm
    bool _disposed;

    CudaTransformer(ModelWeights model, CudaDevice device)
    {
        _model = model;
        _device = device;
        _k = device.Kernels;
        _hidden = model.Config.HiddenSize;
        _eagle = model.Config.IsEagleHead;
        lock (device.Gate)
        {
            device.MakeCurrent();
            _weights = new CudaWeights(device, model);
            try
            {
                _b = new CudaBuffers(device, model.Config, _weights.Matrices);
                _graphs = CudaGraphs.Enabled ? new CudaGraphs(device) : null;
            }
            catch
            {
                _weights.Dispose();
                throw;
            }
        }
    }

    /// <summary>Builds the model over <paramref name="source"/> (which it then owns) on <paramref name="device"/>.</summary>
    public static CudaTransformer Load(IModelSource source, CudaDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        ModelWeights model = ModelWeights.Load(source);
        try
        {
            return new CudaTransformer(model, device);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public ModelConfig Config => _model.Config;
    public ITokenizer Tokenizer => _model.Tokenizer;
    public CudaDevice Device => _device;

    /// <summary>The validated, mapped weights uploaded from (draft heads on the CPU beside this model read its embedding and output head).</summary>
    public ModelWeights Weights => _model;

    /// <summary>Dequantizes one row of the mapped output head on the host (EAGLE's context tokens outside its draft vocabulary).</summary>
    public void OutputHeadRow(int token, Span<float> row) => Dequantize.Row(_model.OutputHead, token, row, Simd.Best);

    /// <summary>Device bytes of the weights and the activation buffers.</summary>
    public long DeviceBytes => _weights.Bytes + _b.Bytes;

    /// <summary>Element type of the caches <see cref="CreateCache"/> makes from now on (F32 unless set).</summary>
    public KvCacheType CacheType { get; set; }

    public IKvCache CreateCache(int capacity)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_device.Gate)
        {
            _device.MakeCurrent();
            return new CudaKvCache(_device, Config.LayerCount, Config.KvHeadCount, Config.HeadDim, capacity, this, CacheType);
        }
    }

    public long CacheBytes(long positions) => CudaKvCache.Bytes(Config.LayerCount, Config.KvHeadCount, Config.HeadDim, positions, CacheType);

    public void Forward(in ForwardBatch batch, IKvCache cache, Span<float> logits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cache is not CudaKvCache kv || kv.Owner != this)
            throw new ArgumentException("the KV cache was not created by this model", nameof(cache));
        int n = batch.Count;
        int logitRows = BatchRules.Validate(batch, Config, kv.Length, kv.Capacity, logits.Length);
        int first = batch.FirstLayer, end = batch.Layers == 0 ? Config.LayerCount : first + batch.Layers;
        lock (_device.Gate)
        {
            _device.MakeCurrent();
            kv.Reserve(kv.Length + n);
            // One chunk through every layer, wanting logits and at most the final-normed states: the decode step and
            // verification (with EAGLE's features), replayed as a graph.
            bool final = batch.HiddenLayers.Length == 1 && batch.HiddenLayers[0] == Config.LayerCount;
            if (_graphs is not null && n <= MaxRows && first == 0 && end == Config.LayerCount && (batch.HiddenLayers.IsEmpty || final) && logitRows > 0)
            {
                Replay(batch, kv, logitRows, final, logits);
                return;
            }
            for (int c0 = 0; c0 < n; c0 += MaxRows)
            {
                int rows = Math.Min(MaxRows, n - c0);
                FillInputs(batch, c0, rows, kv.Length);
                EnqueueInputs(rows);
                uint splits = (uint)CudaKernels.AttentionGrid(kv.Length + rows);
                for (int l = first; l < end; l++)
                {
                    Block(l, rows, kv, splits);
                    CaptureHidden(batch, l, c0, rows, _b.X);
                }
                CaptureFinal(batch, c0, rows);
                ComputeLogits(batch, c0, rows, logitRows, logits);
                kv.Advance(rows);
            }
        }
    }

    /// <summary>
    /// The forward of a single chunk as its captured graph (captured on first use of its shape): the inputs go to
    /// pinned memory, one graph launch, the logits (and with <paramref name="final"/> every row's final-normed state)
    /// come back. The attention grid covers the cache's capacity, so one graph serves every cache length (its kernel
    /// skips segments past a row's keys).
    /// </summary>
    void Replay(in ForwardBatch batch, CudaKvCache kv, int logitRows, bool final, Span<float> logits)
    {
        int rows = batch.Count;
        FillInputs(batch, 0, rows, kv.Length);
        Span<int> slots = stackalloc int[MaxRows];
        int o = 0, m = PickLogitRows(batch, 0, rows, logitRows, ref o, slots);
        int headRows = HeadRows(m, rows);
        if (!_graphs!.TryGet(kv, rows, headRows, final, out nint exec))
        {
            _graphs.BeginCapture();
            bool captured = false;
            try
            {
                EnqueueInputs(rows);
                uint splits = (uint)CudaKernels.AttentionGrid(kv.Capacity);
                for (int l = 0; l < Config.LayerCount; l++) Block(l, rows, kv, splits);
                if (final) EnqueueFinal(rows);
                EnqueueLogits(m, headRows, rows);
                captured = true;
            }
            finally
            {
                exec = _graphs.EndCapture(rows, headRows, final, captured);
            }
        }
        _graphs.Launch(exec);
        FinishLogits(m, headRows, rows, slots, logits);
        if (final) CopyFinal(rows, batch.Hidden);
        kv.Advance(rows);
    }

    /// <summary>
    /// Every row's final-normed state into HeadIn and its copy to pinned memory (before the head reuses HeadIn); an
    /// EAGLE head's is its block's output, copied as it is.
    /// </summary>
    void EnqueueFinal(int rows)
    {
        if (!_eagle) Norm(_b.X, _weights.OutputNorm, _b.HeadIn, rows, 0);
        _device.Api.Check(_device.Api.cuMemcpyDtoHAsync(_b.HostHidden, _eagle ? _b.X : _b.HeadIn, (nuint)((long)rows * _b.Hidden * sizeof(float)), _device.Stream),
            "cuMemcpyDtoHAsync");
    }

    /// <summary>Once the stream is done: the pinned final-normed rows, unpadded, into <paramref name="hidden"/> [rows × hidden].</summary>
    void CopyFinal(int rows, Span<float> hidden)
    {
        for (int i = 0; i < rows; i++)
            new ReadOnlySpan<float>(_b.HostHidden + (long)i * _b.Hidden, _hidden).CopyTo(hidden.Slice(i * _hidden, _hidden));
    }

    /// <summary>
    /// The chunk's residual rows, positions, visibility bits and the cache's length into pinned memory, once the
    /// last copies out of it are done.
    /// </summary>
    void FillInputs(in ForwardBatch batch, int c0, int rows, int cached)
    {
        _device.Api.Check(_device.Api.cuStreamSynchronize(_device.Stream), "cuStreamSynchronize");
        int ld = _b.InputLd;
        for (int i = 0; i < rows; i++)
        {
            float* row = _b.HostX + (long)i * ld;
            if (_eagle) batch.Features.Slice((c0 + i) * _hidden, _hidden).CopyTo(new Span<float>(row + _hidden, _hidden));
            if (batch.Tokens.IsEmpty) batch.Embeddings.Slice((c0 + i) * _hidden, _hidden).CopyTo(new Span<float>(row, _hidden));
            else
            {
                WeightTensor e = _weights.Embedding;
                Dequantize.Row(e.Type, (byte*)e.Data + batch.Tokens[c0 + i] * e.RowBytes, row, _hidden, Simd.Best);
            }
        }
        var positions = new Span<int>(_b.HostInputs + CudaBuffers.PositionsOffset, rows);
        batch.Positions.Slice(c0, rows).CopyTo(positions);
        BatchRules.Visibility(batch, c0, rows, new Span<ulong>(_b.HostInputs + CudaBuffers.VisibleOffset, rows));
        *(int*)(_b.HostInputs + CudaBuffers.CachedOffset) = cached;
    }

    /// <summary>The pinned inputs to the device, in two copies (an EAGLE head's then through fc into the residual).</summary>
    void EnqueueInputs(int rows)
    {
        var api = _device.Api;
        api.Check(api.cuMemcpyHtoDAsync(_eagle ? _b.FcIn : _b.X, _b.HostX, (nuint)((long)rows * _b.InputLd * sizeof(float)), _device.Stream), "cuMemcpyHtoDAsync");
        api.Check(api.cuMemcpyHtoDAsync(_b.Inputs, _b.HostInputs, CudaBuffers.InputBytes, _device.Stream), "cuMemcpyHtoDAsync");
        if (_eagle) EnqueueProjection(rows);
    }

    /// <summary>
    /// Decoder block <paramref name="l"/> over the chunk's rows, whose keys and values land at the cache length the
    /// inputs carry; the attention grid has <paramref name="splits"/> key segments per row.
    /// </summary>
    void Block(int l, int rows, CudaKvCache kv, uint splits)
    {
        ModelConfig c = Config;
        DeviceLayer w = _weights.Layers[l];
        CudaBuffers b = _b;
        int half = kv.Type == KvCacheType.F16 ? 1 : 0;
        ulong positions = b.Inputs + CudaBuffers.PositionsOffset, visible = b.Inputs + CudaBuffers.VisibleOffset;
        ulong cached = b.Inputs + CudaBuffers.CachedOffset;

        if (w.Qkv is not null) NormedMatmul(w.Qkv, null, w.AttentionNorm, rows, b.Qkv, b.QkvLd);
        else
        {
            ulong xn = b.X; // an EAGLE head's block has no input norm
            if (w.AttentionNorm != 0) Norm(b.X, w.AttentionNorm, xn = b.Xn, rows, 0);
            Matmul(w.Q!, xn, rows, b.Qkv, b.QkvLd, accumulate: false);
            Matmul(w.K!, xn, rows, b.K, b.QkvLd, accumulate: false);
            Matmul(w.V!, xn, rows, b.V, b.QkvLd, accumulate: false);
        }
        int heads = c.HeadCount + c.KvHeadCount;
        _k.Launch(_k.RopeStore[half], (uint)((heads + 3) / 4), (uint)rows, Threads,
        [
            b.Qkv, CudaKernels.Arg(b.QkvLd), b.K, b.V, CudaKernels.Arg(b.QkvLd), w.QBias, w.KBias, w.VBias, w.QNorm, w.KNorm,
            CudaKernels.Arg(c.RmsNormEps), _weights.InverseFrequencies, positions, CudaKernels.Arg(c.HeadCount),
            CudaKernels.Arg(c.KvHeadCount), CudaKernels.Arg(c.HeadDim), CudaKernels.Arg(c.RopeStyle == RopeStyle.Neox ? 1 : 0),
            kv.Keys(l), kv.Values(l), CudaKernels.Arg(kv.HeadStride), cached,
        ]);
        int group = CudaKernels.AttentionHeadsPerBlock(c.HeadCount, c.KvHeadCount, rows, (int)splits, _device.Multiprocessors);
        _k.Launch(_k.AttentionFor(half, c.HeadDim), (uint)(c.HeadCount / group), (uint)rows, splits, Threads,
        [
            b.Qkv, CudaKernels.Arg(b.QkvLd), kv.Keys(l), kv.Values(l), CudaKernels.Arg(kv.HeadStride), cached,
            visible, CudaKernels.Arg(c.HeadCount), CudaKernels.Arg(c.KvHeadCount), CudaKernels.Arg(c.HeadDim), CudaKernels.Arg(group),
            CudaKernels.Arg(1f / MathF.Sqrt(c.HeadDim)), b.Att, CudaKernels.Arg(b.QDim), b.AttPartial, b.AttCount,
        ]);
        Matmul(w.Output, b.Att, rows, b.X, b.Hidden, accumulate: true);

        if (w.Gate.Type == w.Up.Type) NormedMatmul(w.Gate, w.Up, w.FfnNorm, rows, b.Up, b.Ffn);
        else
        {
            Norm(b.X, w.FfnNorm, b.Xn, rows, 0);
            Matmul(w.Gate, b.Xn, rows, b.Gate, b.Ffn, accumulate: false);
            Matmul(w.Up, b.Xn, rows, b.Up, b.Ffn, accumulate: false);
            _k.Launch(_k.SwiGlu, (uint)Math.Min(64, (c.IntermediateSize + 255) / 256), (uint)rows, 256,
                [b.Gate, b.Up, CudaKernels.Arg(b.Ffn), CudaKernels.Arg(c.IntermediateSize)]);
        }
        Matmul(w.Down, b.Up, rows, b.X, b.Hidden, accumulate: true);
    }

    /// <summary>y[rows × N] (+)= x[rows × K] · Wᵀ, x and y with the padded strides of their buffers.</summary>
    void Matmul(DeviceMatrix w, ulong x, int rows, ulong y, int ldy, bool accumulate) =>
        _k.Matmul(w, null, x, rows, y, ldy, accumulate, _b.Scratch);

    /// <summary>
    /// y (=) RMSNorm(X)·Wᵀ (with <paramref name="up"/>, SwiGLU's product) over the residual's rows: the norm fused into
    /// the matmul where the kernels can (<see cref="CudaKernels.FusesNorm"/>), else into Xn first; without norm weights
    /// (an EAGLE head's block input), over X itself.
    /// </summary>
    void NormedMatmul(DeviceMatrix w, DeviceMatrix? up, ulong normWeight, int rows, ulong y, int ldy)
    {
        if (normWeight == 0) _k.Matmul(w, up, _b.X, rows, y, ldy, accumulate: false, _b.Scratch);
        else if (_k.FusesNorm(w, rows))
            _k.Matmul(w, up, _b.X, rows, y, ldy, accumulate: false, _b.Scratch, new RowNorm(normWeight, _hidden, Config.RmsNormEps));
        else
        {
            Norm(_b.X, normWeight, _b.Xn, rows, 0);
            _k.Matmul(w, up, _b.Xn, rows, y, ldy, accumulate: false, _b.Scratch);
        }
    }

    /// <summary>RMSNorm of <paramref name="rows"/> rows of x into y; with <paramref name="rowIndex"/> (device ints) row i reads x's row rowIndex[i].</summary>
    void Norm(ulong x, ulong weight, ulong y, int rows, ulong rowIndex) =>
        _k.Launch(_k.RmsNorm, (uint)rows, 1, CudaKernels.NormThreads,
        [
            x, CudaKernels.Arg(_b.Hidden), weight, y, CudaKernels.Arg(_b.Hidden), CudaKernels.Arg(_hidden),
            CudaKernels.Arg(Config.RmsNormEps), rowIndex,
        ]);

    /// <summary>Copies device rows [rows × Hidden (padded)] into <paramref name="hidden"/> at <paramref name="offset"/>, unpadded.</summary>
    void Download(ulong source, int rows, Span<float> hidden, long offset)
    {
        fixed (float* h = hidden)
        {
            var api = _device.Api;
            if (_b.Hidden == _hidden)
                api.Check(api.cuMemcpyDtoH(h + offset, source, (nuint)((long)rows * _hidden * sizeof(float))), "cuMemcpyDtoH");
            else
                for (int i = 0; i < rows; i++)
                    api.Check(api.cuMemcpyDtoH(h + offset + (long)i * _hidden, source + (ulong)((long)i * _b.Hidden * sizeof(float)),
                        (nuint)(_hidden * sizeof(float))), "cuMemcpyDtoH");
        }
    }

    /// <summary>The residual stream after layer <paramref name="layer"/> where HiddenLayers asks for it.</summary>
    void CaptureHidden(in ForwardBatch batch, int layer, int c0, int rows, ulong x)
    {
        for (int j = 0; j < batch.HiddenLayers.Length; j++)
            if (batch.HiddenLayers[j] == layer)
                Download(x, rows, batch.Hidden, ((long)j * batch.Count + c0) * _hidden);
    }

    /// <summary>The final-normed state (HiddenLayers entry LayerCount) of every row of the chunk.</summary>
    void CaptureFinal(in ForwardBatch batch, int c0, int rows)
    {
        for (int j = 0; j < batch.HiddenLayers.Length; j++)
            if (batch.HiddenLayers[j] == Config.LayerCount)
            {
                EnqueueFinal(rows);
                _device.Api.Check(_device.Api.cuStreamSynchronize(_device.Stream), "cuStreamSynchronize");
                CopyFinal(rows, batch.Hidden.Slice((j * batch.Count + c0) * _hidden));
            }
    }

    /// <summary>
    /// The head over only the output slots whose rows lie in this chunk (up to 64 at a time): their rows normed
    /// into HeadIn, one matmul, one copy of the logits to pinned memory, then each slot's row to the caller.
    /// </summary>
    void ComputeLogits(in ForwardBatch batch, int c0, int rows, int logitRows, Span<float> logits)
    {
        Span<int> slots = stackalloc int[MaxRows];
        int o = 0;
        while (o < logitRows)
        {
            int m = PickLogitRows(batch, c0, rows, logitRows, ref o, slots);
            if (m == 0) break;
            int headRows = HeadRows(m, rows);
            EnqueueLogits(m, headRows, rows);
            FinishLogits(m, headRows, rows, slots, logits);
        }
    }

    /// <summary>
    /// From output slot <paramref name="o"/> on, up to 64 slots whose rows lie in this chunk: their slots, and their
    /// rows within the chunk in the pinned inputs. Returns how many.
    /// </summary>
    int PickLogitRows(in ForwardBatch batch, int c0, int rows, int logitRows, ref int o, Span<int> slots)
    {
        var rowIndex = new Span<int>(_b.HostInputs + CudaBuffers.LogitRowsOffset, MaxRows);
        int n = batch.Count, m = 0;
        for (; o < logitRows && m < MaxRows; o++)
        {
            int row = batch.LogitRows.IsEmpty ? n - 1 : batch.LogitRows[o];
            if (row < c0 || row >= c0 + rows) continue;
            slots[m] = o;
            rowIndex[m++] = row - c0;
        }
        return m;
    }

    /// <summary>
    /// The picked rows' final norm, the head, and the copy of their logits to pinned memory; an EAGLE head (no final
    /// norm) multiplies the chunk's last <paramref name="headRows"/> of <paramref name="rows"/> rows in place.
    /// </summary>
    void EnqueueLogits(int m, int headRows, int rows)
    {
        var api = _device.Api;
        if (_eagle)
        {
            EnqueueHeadLogits(headRows, rows);
            return;
        }
        ulong index = _b.Inputs + CudaBuffers.LogitRowsOffset;
        api.Check(api.cuMemcpyHtoDAsync(index, _b.HostInputs + CudaBuffers.LogitRowsOffset, (nuint)(m * sizeof(int)), _device.Stream),
            "cuMemcpyHtoDAsync");
        Norm(_b.X, _weights.OutputNorm, _b.HeadIn, m, index);
        Matmul(_weights.OutputHead, _b.HeadIn, m, _b.Logits, _b.Vocab, accumulate: false);
        api.Check(api.cuMemcpyDtoHAsync(_b.HostLogits, _b.Logits, (nuint)((long)m * _b.Vocab * sizeof(float)), _device.Stream),
            "cuMemcpyDtoHAsync");
    }

    /// <summary>
    /// Waits for the logits and copies each picked row to its slot of <paramref name="logits"/> (an EAGLE head's
    /// come as the chunk's last <paramref name="headRows"/> rows).
    /// </summary>
    void FinishLogits(int m, int headRows, int rows, ReadOnlySpan<int> slots, Span<float> logits)
    {
        int vocab = Config.LogitCount;
        var rowIndex = new ReadOnlySpan<int>(_b.HostInputs + CudaBuffers.LogitRowsOffset, m);
        _device.Api.Check(_device.Api.cuStreamSynchronize(_device.Stream), "cuStreamSynchronize");
        for (int i = 0; i < m; i++)
        {
            int from = _eagle ? rowIndex[i] - (rows - headRows) : i;
            new ReadOnlySpan<float>(_b.HostLogits + (long)from * _b.Vocab, vocab).CopyTo(logits.Slice(slots[i] * vocab, vocab));
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_device.Gate)
        {
            _device.MakeCurrent();
            _graphs?.Dispose();
            _b.Dispose();
            _weights.Dispose();
        }
        _model.Dispose();
    }
}
