using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Model;
using SpecDec.Model.Heads;
using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Backends.Cpu;

/// <summary>
/// A Llama-family decoder (Llama 2/3, Mistral, Qwen2, Qwen3, Gemma 2/3, Phi-3/4, and the mixtures of experts Mixtral,
/// Qwen3-MoE and OLMoE) on the CPU, over <see cref="ModelWeights"/> loaded
/// once. Per-sequence state is the <see cref="KvCache"/> each sequence creates; the activation buffers are
/// allocated at load for one chunk of <see cref="ForwardBatch.MaxRows"/> rows, so Forward allocates nothing, and longer
/// causal batches (prompts) run in chunks. Thread-safe: forwards from several threads (several sequences on
/// one loaded model) take turns on the worker pool, which runs one job at a time anyway; a forward holds the
/// pool's <see cref="WorkerPool.Gate"/> throughout, which also keeps models that share a pool apart.
/// </summary>
public sealed unsafe class Transformer : ILanguageModel, IOutputHeadRows
{
    /// <summary>Rows one pass computes at once.</summary>
    const int MaxRows = ForwardBatch.MaxRows;

    readonly ModelWeights _model;
    readonly CpuWeights _weights;
    readonly WorkerPool _pool;
    readonly bool _ownsPool;
    readonly SimdLevel _level;
    readonly ActivationBuffers _buffers;
    readonly MixtureOfExperts? _moe;
    readonly int _hidden, _qDim, _kvDim, _ffn, _headDim;
    bool _disposed;

    Transformer(ModelWeights model, WorkerPool? pool, int threads)
    {
        _model = model;
        ModelConfig c = Config;
        _level = Simd.Best;
        _hidden = c.HiddenSize;
        _headDim = c.HeadDim;
        _qDim = c.HeadCount * c.HeadDim;
        _kvDim = c.KvHeadCount * c.HeadDim;
        _ffn = c.IsMoe ? c.ExpertFfnSize : c.IntermediateSize;
        _weights = new CpuWeights(model, _level);

        // Everything that can fail on a bad file is checked above; threads start only now.
        _ownsPool = pool is null;
        _pool = pool ?? new WorkerPool(threads);
        _weights.MarkFiniteHalves(_pool);
        _buffers = new ActivationBuffers(c, _pool.ThreadCount, scaledActivations: _weights.RawHalves);
        _moe = c.IsMoe ? new MixtureOfExperts(c) : null;
    }

    /// <summary>
    /// Builds the model over <paramref name="source"/>, which it then owns (disposing the model disposes
    /// it, also when loading fails), with its own pool of <paramref name="threads"/> threads (0: one per processor).
    /// </summary>
    public static Transformer Load(IModelSource source, int threads = 0) => Load(source, null, threads);

    /// <summary>
    /// Builds the model over <paramref name="source"/> (which it then owns) on a pool the caller owns and may
    /// share with other models: a target and its draft on one pool keep the cores for whichever is running,
    /// where two pools' idle workers would spin against each other.
    /// </summary>
    public static Transformer Load(IModelSource source, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return Load(source, pool, pool.ThreadCount);
    }

    static Transformer Load(IModelSource source, WorkerPool? pool, int threads)
    {
        ModelWeights model = ModelWeights.Load(source);
        try
        {
            return new Transformer(model, pool, threads);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An EAGLE head for <paramref name="target"/> (checked against it: hidden size, vocabulary, base model), as a
    /// model of its own that reads the target's embedding and output head and runs on the target's pool. Owns
    /// <paramref name="head"/>.
    /// </summary>
    public static Transformer LoadEagleHead(HeadFile head, Transformer target) => LoadEagleHead(head, target, target.Weights, target._pool);

    /// <summary>
    /// An EAGLE head on the CPU over <paramref name="pool"/> beside <paramref name="target"/> on any backend, whose
    /// mapped <paramref name="targetWeights"/> give it the embedding and output head; owns <paramref name="head"/>.
    /// </summary>
    public static Transformer LoadEagleHead(HeadFile head, ILanguageModel target, ModelWeights targetWeights, WorkerPool pool)
    {
        try
        {
            head.Check(target);
            return Load(new EagleModelSource(head, targetWeights.Source), pool, pool.ThreadCount);
        }
        catch
        {
            head.Dispose();
            throw;
        }
    }

    /// <summary>The pool forwards run on (heads beside this model share it).</summary>
    internal WorkerPool Pool => _pool;

    /// <summary>The output head as the matmul reads it (Medusa heads that share it multiply by this copy).</summary>
    internal LinearWeight OutputHead => _weights.OutputHead;

    public ModelConfig Config => _model.Config;
    public ITokenizer Tokenizer => _model.Tokenizer;

    /// <summary>The validated, mapped weights this model computes from.</summary>
    public ModelWeights Weights => _model;

    /// <summary>Threads each forward pass runs on.</summary>
    public int ThreadCount => _pool.ThreadCount;

    /// <summary>Element type of the caches <see cref="CreateCache"/> makes from now on (F32 unless set).</summary>
    public KvCacheType CacheType { get; set; }

    public IKvCache CreateCache(int capacity)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new KvCache(Config.LayerCount, Config.KvHeadCount, _headDim, capacity, this, CacheType);
    }

    public long CacheBytes(long positions) => KvCache.Bytes(Config.LayerCount, Config.KvHeadCount, _headDim, positions, CacheType);

    public void Forward(in ForwardBatch batch, IKvCache cache, Span<float> logits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        KvCache kv = Own(cache);
        int n = batch.Count;
        int logitRows = BatchRules.Validate(batch, Config, kv.Length, kv.Capacity, logits.Length);
        int vocab = Config.LogitCount;
        int first = batch.FirstLayer, end = batch.Layers == 0 ? Config.LayerCount : first + batch.Layers;
        kv.Reserve(kv.Length + n); // a sequence's own cache: grows outside the model's gate

        lock (_pool.Gate)
        {
            fixed (float* logitsPtr = logits)
            fixed (float* hiddenPtr = batch.Hidden)
            {
                for (int c0 = 0; c0 < n; c0 += MaxRows)
                {
                    int rows = Math.Min(MaxRows, n - c0);
                    _segments[0] = new Segment(kv, 0, rows);
                    RunChunk(batch, c0, rows, first, end, _segments.AsSpan(0, 1));
                    if (batch.HiddenLayers.Length > 0) CaptureFinal(batch, c0, rows, hiddenPtr);
                    ComputeLogits(batch, c0, rows, logitRows, logitsPtr, vocab);
                    kv.Advance(rows);
                }
            }
            _segments[0] = default;
        }
    }

    /// <summary>
    /// Several sequences in one chunk: every matmul runs once over all their rows; RoPE, the cache writes and
    /// attention go per sequence (one attention dispatch for all), so each row's bits are those of its sequence alone.
    /// </summary>
    public void Forward(in ForwardBatch batch, ReadOnlySpan<SequenceRows> sequences, Span<float> logits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int logitRows = BatchRules.ValidateSequences(batch, sequences, Config, logits.Length);
        foreach (var s in sequences)
        {
            KvCache kv = Own(s.Cache);
            kv.Reserve(kv.Length + s.Count);
        }
        lock (_pool.Gate)
        {
            for (int s = 0; s < sequences.Length; s++) _segments[s] = new Segment((KvCache)sequences[s].Cache, sequences[s].Start, sequences[s].Count);
            var segments = _segments.AsSpan(0, sequences.Length);
            RunChunk(batch, 0, batch.Count, 0, Config.LayerCount, segments);
            fixed (float* logitsPtr = logits) ComputeLogits(batch, 0, batch.Count, logitRows, logitsPtr, Config.LogitCount);
            foreach (var segment in segments) segment.Kv.Advance(segment.Rows);
            segments.Clear(); // holds no cache past the forward
        }
    }

    KvCache Own(IKvCache cache) =>
        cache is KvCache kv && kv.Owner == this ? kv : throw new ArgumentException("the KV cache was not created by this model", nameof(cache));

    /// <summary>A sequence's rows [Start, Start + Rows) of a chunk, with its cache.</summary>
    readonly record struct Segment(KvCache Kv, int Start, int Rows);

    /// <summary>[MaxRows] the sequences of the chunk in progress (under the pool's gate).</summary>
    readonly Segment[] _segments = new Segment[MaxRows];

    /// <summary>
    /// Blocks [first, end) over batch rows [c0, c0 + rows), which <paramref name="segments"/> split into sequences
    /// (chunk rows, each with its cache, whose keys and values land at its Length).
    /// </summary>
    void RunChunk(in ForwardBatch batch, int c0, int rows, int first, int end, ReadOnlySpan<Segment> segments)
    {
        ModelConfig c = Config;
        ActivationBuffers b = _buffers;
        float* x = b.X, xn = b.Xn, qs = b.Q, ks = b.K, vs = b.V, att = b.Att, gate = b.Gate, up = b.Up, cos = b.Cos, sin = b.Sin;
        ulong* visible = b.Visible;
        if (batch.Tokens.IsEmpty)
            batch.Embeddings.Slice(c0 * _hidden, rows * _hidden).CopyTo(new Span<float>(x, rows * _hidden));
        else if (_weights.InputProjection is { } fc)
            ProjectInput(batch, c0, rows, fc);
        else
        {
            WeightTensor e = _weights.Embedding;
            for (int i = 0; i < rows; i++)
                Dequantize.Row(e.Type, (byte*)e.Data + batch.Tokens[c0 + i] * e.RowBytes, x + (long)i * _hidden, _hidden, _level);
        }
        // Gemma's √H on what enters block 0 (a later block's input is a residual stream, already scaled).
        if (c.EmbeddingScale != 1f && first == 0)
            System.Numerics.Tensors.TensorPrimitives.Multiply(new Span<float>(x, rows * _hidden), c.EmbeddingScale, new Span<float>(x, rows * _hidden));
        Attention.Problem* problems = b.Problems;
        for (int s = 0; s < segments.Length; s++)
        {
            var (kv, start, count) = segments[s];
            // Every row of a sequence takes the table its limit implies (LongRoPE's short or long factors).
            var positions = batch.Positions.Slice(c0 + start, count);
            _weights.RopeFor(kv.Limit).Tables(positions, cos + (long)start * _headDim, sin + (long)start * _headDim);
            _weights.SlidingRope?.Tables(positions, b.SlidingCos + (long)start * _headDim, b.SlidingSin + (long)start * _headDim);
            if (segments.Length == 1) BatchRules.Visibility(batch, c0, rows, new Span<ulong>(visible, rows));
            else
                BatchRules.Visibility(new ForwardBatch { Positions = positions, Parents = batch.Parents.IsEmpty ? default : batch.Parents.Slice(start, count) },
                    0, count, new Span<ulong>(visible + start, count));
            problems[s] = new Attention.Problem
            {
                Q = qs + (long)start * _qDim, Output = att + (long)start * _qDim, HeadStride = kv.HeadStride, T = count, Heads = c.HeadCount,
                KvHeads = c.KvHeadCount, HeadDim = _headDim, Past = kv.Length, Visible = visible + start,
                Scale = c.AttentionScale ?? 1f / MathF.Sqrt(_headDim), Half = kv.Type == KvCacheType.F16, Softcap = c.AttentionSoftcap,
            };
        }

        MatmulWorkspace workspace = b.Workspace;
        for (int l = first; l < end; l++)
        {
            LayerWeights w = _weights.Layers[l];
            bool sliding = c.IsSliding(l);
            float* layerCos = sliding ? b.SlidingCos : cos, layerSin = sliding ? b.SlidingSin : sin;
            NormRows(x, w.AttentionNorm, xn, rows);
            Matmul.Run(_pool, workspace, xn, rows, _level,
                new MatmulPart(w.Q, qs), new MatmulPart(w.K, ks), new MatmulPart(w.V, vs));
            for (int s = 0; s < segments.Length; s++)
            {
                var (kv, start, count) = segments[s];
                Rope rope = sliding ? _weights.SlidingRope! : _weights.RopeFor(kv.Limit);
                for (int i = start; i < start + count; i++)
                {
                    float* q = qs + (long)i * _qDim, k = ks + (long)i * _kvDim, v = vs + (long)i * _kvDim;
                    if (w.QBias != null)
                    {
                        Add(q, w.QBias, _qDim);
                        Add(k, w.KBias, _kvDim);
                        Add(v, w.VBias, _kvDim);
                    }
                    if (w.QNorm != null && c.QkNormWhole)
                    {
                        RmsNorm.Apply(q, w.QNorm, q, _qDim, c.RmsNormEps, _level);
                        RmsNorm.Apply(k, w.KNorm, k, _kvDim, c.RmsNormEps, _level);
                    }
                    else if (w.QNorm != null)
                    {
                        for (int h = 0; h < c.HeadCount; h++) RmsNorm.Apply(q + h * _headDim, w.QNorm, q + h * _headDim, _headDim, c.RmsNormEps, _level);
                        for (int h = 0; h < c.KvHeadCount; h++) RmsNorm.Apply(k + h * _headDim, w.KNorm, k + h * _headDim, _headDim, c.RmsNormEps, _level);
                    }
                    rope.Apply(q, c.HeadCount, layerCos + (long)i * _headDim, layerSin + (long)i * _headDim, _level);
                    rope.Apply(k, c.KvHeadCount, layerCos + (long)i * _headDim, layerSin + (long)i * _headDim, _level);
                    StoreKv(kv, l, kv.Length + i - start, k, v);
                }
                problems[s].K = kv.Keys(l);
                problems[s].V = kv.Values(l);
                problems[s].Window = sliding ? c.SlidingWindow : 0;
            }
            if (segments.Length == 1) Attention.Run(_pool, problems[0], b.AttentionScratch, _level);
            else Attention.RunMany(_pool, problems, segments.Length, b.AttentionScratch, _level);
            Matmul.Run(_pool, workspace, att, rows, _level, new MatmulPart(w.Output, xn));
            if (w.PostAttentionNorm != null) NormRows(xn, w.PostAttentionNorm, xn, rows);
            Add(x, xn, rows * _hidden);

            NormRows(x, w.FfnNorm, xn, rows);
            float* ffnOut = xn;
            if (_moe != null) ffnOut = _moe.Run(_pool, workspace, w, xn, rows, _level);
            else
            {
                Matmul.Run(_pool, workspace, xn, rows, _level, new MatmulPart(w.Gate, gate), new MatmulPart(w.Up, up));
                if (c.Activation == FfnActivation.GeluTanh) GeGlu.Apply(gate, up, rows * _ffn, _level);
                else SwiGlu.Apply(gate, up, rows * _ffn, _level);
                Matmul.Run(_pool, workspace, up, rows, _level, new MatmulPart(w.Down, xn));
            }
            if (w.PostFfnNorm != null) NormRows(ffnOut, w.PostFfnNorm, ffnOut, rows);
            Add(x, ffnOut, rows * _hidden);

            CaptureHidden(batch, l, c0, rows);
        }
    }

    /// <summary>An EAGLE head's input: X = fc([embedding(token); feature]) + bias, per row of the chunk.</summary>
    void ProjectInput(in ForwardBatch batch, int c0, int rows, LinearWeight fc)
    {
        WeightTensor e = _weights.Embedding;
        float* input = _buffers.FcIn; // [rows × 2·hidden]
        for (int i = 0; i < rows; i++)
        {
            float* row = input + (long)i * 2 * _hidden;
            Dequantize.Row(e.Type, (byte*)e.Data + batch.Tokens[c0 + i] * e.RowBytes, row, _hidden, _level);
            batch.Features.Slice((c0 + i) * _hidden, _hidden).CopyTo(new Span<float>(row + _hidden, _hidden));
        }
        Matmul.Run(_pool, _buffers.Workspace, input, rows, _level, new MatmulPart(fc, _buffers.X));
        for (int i = 0; i < rows; i++) Add(_buffers.X + (long)i * _hidden, _weights.InputBias, _hidden);
    }

    void StoreKv(KvCache kv, int layer, int position, float* k, float* v)
    {
        for (int h = 0; h < Config.KvHeadCount; h++)
            kv.Write(layer, h, position, k + h * _headDim, v + h * _headDim);
    }

    /// <summary>Copies the residual stream after layer <paramref name="layer"/> where HiddenLayers asks for it.</summary>
    void CaptureHidden(in ForwardBatch batch, int layer, int c0, int rows)
    {
        int n = batch.Count;
        for (int j = 0; j < batch.HiddenLayers.Length; j++)
            if (batch.HiddenLayers[j] == layer)
                new ReadOnlySpan<float>(_buffers.X, rows * _hidden).CopyTo(batch.Hidden.Slice((j * n + c0) * _hidden));
    }

    /// <summary>The final-normed state (HiddenLayers entry LayerCount) of every row of the chunk.</summary>
    void CaptureFinal(in ForwardBatch batch, int c0, int rows, float* hidden)
    {
        int n = batch.Count;
        for (int j = 0; j < batch.HiddenLayers.Length; j++)
            if (batch.HiddenLayers[j] == Config.LayerCount)
                NormRows(_buffers.X, _weights.OutputNorm, hidden + ((long)j * n + c0) * _hidden, rows);
    }

    /// <summary>
    /// Output head over only the rows whose logits were asked for: each maximal run of consecutive output
    /// slots whose rows lie in this chunk is gathered and multiplied straight into the caller's logits.
    /// </summary>
    void ComputeLogits(in ForwardBatch batch, int c0, int rows, int logitRows, float* logits, int vocab)
    {
        int n = batch.Count;
        int o = 0;
        while (o < logitRows)
        {
            int row = batch.LogitRows.IsEmpty ? n - 1 : batch.LogitRows[o];
            if (row < c0 || row >= c0 + rows)
            {
                o++;
                continue;
            }
            int first = o, m = 0;
            while (o < logitRows && m < MaxRows)
            {
                row = batch.LogitRows.IsEmpty ? n - 1 : batch.LogitRows[o];
                if (row < c0 || row >= c0 + rows) break;
                NormRows(_buffers.X + (long)(row - c0) * _hidden, _weights.OutputNorm, _buffers.HeadIn + (long)m * _hidden, 1);
                m++;
                o++;
            }
            Matmul.Run(_pool, _buffers.Workspace, _buffers.HeadIn, m, _level, new MatmulPart(_weights.OutputHead, logits + (long)first * vocab));
            if (Config.FinalLogitSoftcap > 0) Softcap(logits + (long)first * vocab, m * vocab, Config.FinalLogitSoftcap);
        }
    }

    /// <summary>Dequantizes one row of the mapped output head (token_embd when tied), as the embedding lookup reads its rows.</summary>
    public void OutputHeadRow(int token, Span<float> row) => Dequantize.Row(_model.OutputHead, token, row, _level);

    /// <summary>RMSNorm of each row into y; with no weights (an EAGLE head's missing norms), a copy.</summary>
    void NormRows(float* x, float* weight, float* y, int rows)
    {
        if (weight == null)
        {
            new ReadOnlySpan<float>(x, rows * _hidden).CopyTo(new Span<float>(y, rows * _hidden));
            return;
        }
        for (int i = 0; i < rows; i++)
            RmsNorm.Apply(x + (long)i * _hidden, weight, y + (long)i * _hidden, _hidden, Config.RmsNormEps, _level);
    }

    /// <summary>z = cap·tanh(z / cap) (Gemma 2's final logit soft-cap).</summary>
    static void Softcap(float* z, int n, float cap)
    {
        var span = new Span<float>(z, n);
        System.Numerics.Tensors.TensorPrimitives.Multiply(span, 1f / cap, span);
        System.Numerics.Tensors.TensorPrimitives.Tanh(span, span);
        System.Numerics.Tensors.TensorPrimitives.Multiply(span, cap, span);
    }

    static void Add(float* x, float* y, int n) =>
        System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(x, n), new ReadOnlySpan<float>(y, n), new Span<float>(x, n));

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsPool) _pool.Dispose();
        _buffers.Dispose();
        _moe?.Dispose();
        _weights.Dispose();
        _model.Dispose();
    }
}
