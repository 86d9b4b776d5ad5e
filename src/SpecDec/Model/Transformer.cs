using SpecDec.Formats;
using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Tokenization;

namespace SpecDec.Model;

/// <summary>
/// A Llama-family decoder (Llama 2/3, Mistral, Qwen2, Qwen3) on the CPU. Weights stay memory-mapped in the
/// <see cref="IModelSource"/>; every activation buffer is allocated at load for up to <see cref="MaxRows"/>
/// rows, so Forward allocates nothing. Longer causal batches (prompts) run in chunks of MaxRows.
/// Not thread-safe: one Forward at a time per model (caches are per sequence, buffers are per model).
/// </summary>
public sealed unsafe class Transformer : ILanguageModel
{
    /// <summary>Rows one pass computes at once (tree batches are limited to this: masks are 64-bit).</summary>
    public const int MaxRows = 64;

    readonly IModelSource _source;
    readonly WorkerPool _pool;
    readonly bool _ownsPool;
    readonly SimdLevel _level;
    readonly LayerWeights[] _layers;
    readonly WeightTensor _embedding;
    readonly LinearWeight _outputHead;
    readonly float* _outputNorm;
    readonly Rope _rope;
    readonly MatmulWorkspace _workspace;
    readonly List<IDisposable> _buffers = [];
    readonly int _hidden, _qDim, _kvDim, _ffn, _headDim;

    // Activations, rows of one chunk.
    readonly float* _x;       // [MaxRows × hidden] residual stream
    readonly float* _xn;      // [MaxRows × hidden] normed input / projection output
    readonly float* _q;       // [MaxRows × heads·headDim]
    readonly float* _k;       // [MaxRows × kvHeads·headDim]
    readonly float* _v;       // [MaxRows × kvHeads·headDim]
    readonly float* _att;     // [MaxRows × heads·headDim] attention output
    readonly float* _gate;    // [MaxRows × ffn]
    readonly float* _up;      // [MaxRows × ffn]
    readonly float* _cos;     // [MaxRows × headDim] RoPE tables
    readonly float* _sin;     // [MaxRows × headDim]
    readonly float* _headIn;  // [MaxRows × hidden] final-normed rows whose logits are wanted
    readonly ulong* _visible; // [MaxRows] attention mask bits over the chunk
    readonly float* _attentionScratch; // [threads × Attention.ScratchFloats]
    bool _disposed;

    Transformer(IModelSource source, WorkerPool? pool, int threads)
    {
        _source = source;
        ModelConfig c = Config;
        ValidateConfig(source.Path, c);
        _level = Simd.Best;
        _hidden = c.HiddenSize;
        _headDim = c.HeadDim;
        _qDim = c.HeadCount * c.HeadDim;
        _kvDim = c.KvHeadCount * c.HeadDim;
        _ffn = c.IntermediateSize;

        _embedding = Require(TensorNames.TokenEmbedding);
        CheckShape(_embedding, [_hidden, c.VocabSize]);
        _outputHead = c.TiedEmbeddings ? Matrix(TensorNames.TokenEmbedding, c.VocabSize, _hidden)
                                       : Matrix(TensorNames.Output, c.VocabSize, _hidden);
        _outputNorm = Vector(TensorNames.OutputNorm, _hidden);
        _layers = new LayerWeights[c.LayerCount];
        for (int l = 0; l < c.LayerCount; l++) _layers[l] = LoadLayer(l, c);

        WeightTensor? freqs = source.Find(TensorNames.RopeFreqs);
        float[] frequencies = freqs is null
            ? Rope.Frequencies(c)
            : Rope.Frequencies(c, new ReadOnlySpan<float>(Vector(TensorNames.RopeFreqs, c.HeadDim / 2), c.HeadDim / 2));
        _rope = new Rope(c.HeadDim, c.RopeStyle, frequencies);

        // Everything that can fail on a bad file is checked above; threads start only now.
        _ownsPool = pool is null;
        _pool = pool ?? new WorkerPool(threads);
        Func<LinearWeight, LinearWeight> markHalves = FiniteHalvesMarker();
        foreach (LayerWeights layer in _layers) layer.MapMatrices(markHalves);
        _outputHead = markHalves(_outputHead);

        int maxColumns = Math.Max(Math.Max(_hidden, _qDim), _ffn);
        bool rawHalves = _outputHead.FiniteHalves || _layers.Any(l => l.Matrices.Any(w => w.FiniteHalves));
        _workspace = new MatmulWorkspace(MaxRows, maxColumns, _pool.ThreadCount, scaledActivations: rawHalves);
        _buffers.Add(_workspace);
        _x = Floats(MaxRows * _hidden);
        _xn = Floats(MaxRows * _hidden);
        _q = Floats(MaxRows * _qDim);
        _k = Floats(MaxRows * _kvDim);
        _v = Floats(MaxRows * _kvDim);
        _att = Floats(MaxRows * _qDim);
        _gate = Floats((long)MaxRows * _ffn);
        _up = Floats((long)MaxRows * _ffn);
        _cos = Floats(MaxRows * _headDim);
        _sin = Floats(MaxRows * _headDim);
        _headIn = Floats(MaxRows * _hidden);
        var visible = new NativeBuffer<ulong>(MaxRows);
        _buffers.Add(visible);
        _visible = visible.Pointer;
        _attentionScratch = Floats((long)_pool.ThreadCount * Attention.ScratchFloats(_headDim));
    }

    /// <summary>
    /// Builds the model over <paramref name="source"/>, which it then owns (disposing the model disposes
    /// it, also when loading fails), with its own pool of <paramref name="threads"/> threads (0: one per processor).
    /// </summary>
    public static Transformer Load(IModelSource source, int threads = 0) => Load(source, null, threads);

    /// <summary>
    /// Builds the model over <paramref name="source"/> (which it then owns) on a pool the caller owns and may
    /// share with other models that never run at the same time: a target and its draft on one pool keep the
    /// cores for whichever is running, where two pools' idle workers would spin against each other.
    /// </summary>
    public static Transformer Load(IModelSource source, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return Load(source, pool, pool.ThreadCount);
    }

    static Transformer Load(IModelSource source, WorkerPool? pool, int threads)
    {
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            return new Transformer(source, pool, threads);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    public ModelConfig Config => _source.Config;
    public ITokenizer Tokenizer => _source.Tokenizer;

    /// <summary>Threads each forward pass runs on.</summary>
    public int ThreadCount => _pool.ThreadCount;

    /// <summary>Element type of the caches <see cref="CreateCache"/> makes from now on (F32 unless set).</summary>
    public KvCacheType CacheType { get; set; }

    public IKvCache CreateCache(int capacity)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new KvCache(Config.LayerCount, Config.KvHeadCount, _headDim, capacity, this, CacheType);
    }

    public void Forward(in ForwardBatch batch, IKvCache cache, Span<float> logits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cache is not KvCache kv || kv.Owner != this)
            throw new ArgumentException("the KV cache was not created by this model", nameof(cache));
        int n = batch.Tokens.Length;
        int logitRows = Validate(batch, kv, logits);
        int vocab = Config.VocabSize;

        fixed (float* logitsPtr = logits)
        fixed (float* hiddenPtr = batch.Hidden)
        {
            for (int c0 = 0; c0 < n; c0 += MaxRows)
            {
                int rows = Math.Min(MaxRows, n - c0);
                RunChunk(batch, c0, rows, kv);
                if (batch.HiddenLayers.Length > 0) CaptureFinal(batch, c0, rows, hiddenPtr);
                ComputeLogits(batch, c0, rows, logitRows, logitsPtr, vocab);
                kv.Advance(rows);
            }
        }
    }

    /// <summary>Checks the request before anything is written; returns the number of logit rows.</summary>
    int Validate(in ForwardBatch batch, KvCache kv, Span<float> logits)
    {
        int n = batch.Tokens.Length;
        if (n == 0) throw new ArgumentException("the batch has no tokens");
        if (batch.Positions.Length != n)
            throw new ArgumentException($"{batch.Positions.Length} positions for {n} tokens");
        if (kv.Length + n > kv.Capacity)
            throw new ArgumentException($"the KV cache holds {kv.Length} of {kv.Capacity} rows: no room for {n} more");
        for (int i = 0; i < n; i++)
        {
            if ((uint)batch.Tokens[i] >= (uint)Config.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(batch), batch.Tokens[i], $"token {i} is outside the vocabulary of {Config.VocabSize}");
            if (batch.Positions[i] < 0)
                throw new ArgumentOutOfRangeException(nameof(batch), batch.Positions[i], $"position {i} is negative");
        }
        if (!batch.Parents.IsEmpty)
        {
            if (batch.Parents.Length != n) throw new ArgumentException($"{batch.Parents.Length} parents for {n} tokens");
            if (n > MaxRows) throw new ArgumentException($"a tree batch holds at most {MaxRows} tokens, not {n}");
            for (int i = 0; i < n; i++)
                if (batch.Parents[i] < -1 || batch.Parents[i] >= i)
                    throw new ArgumentException($"parent {batch.Parents[i]} of row {i} is not an earlier row or -1");
        }
        foreach (int r in batch.LogitRows)
            if ((uint)r >= (uint)n) throw new ArgumentOutOfRangeException(nameof(batch), r, $"logit row outside the batch of {n}");
        int logitRows = batch.LogitRows.IsEmpty ? 1 : batch.LogitRows.Length;
        if (logits.Length < (long)logitRows * Config.VocabSize)
            throw new ArgumentException($"logits hold {logits.Length} floats; {logitRows} rows × {Config.VocabSize} are needed", nameof(logits));
        foreach (int l in batch.HiddenLayers)
            if ((uint)l > (uint)Config.LayerCount)
                throw new ArgumentOutOfRangeException(nameof(batch), l, $"hidden layer outside 0..{Config.LayerCount}");
        if (batch.Hidden.Length < (long)batch.HiddenLayers.Length * n * _hidden)
            throw new ArgumentException($"Hidden holds {batch.Hidden.Length} floats; {batch.HiddenLayers.Length} layers × {n} rows × {_hidden} are needed");
        return logitRows;
    }

    /// <summary>All layers over batch rows [c0, c0 + rows), whose keys and values land at kv.Length.</summary>
    void RunChunk(in ForwardBatch batch, int c0, int rows, KvCache kv)
    {
        ModelConfig c = Config;
        for (int i = 0; i < rows; i++)
        {
            WeightTensor e = _embedding;
            Dequantize.Row(e.Type, (byte*)e.Data + batch.Tokens[c0 + i] * e.RowBytes, _x + (long)i * _hidden, _hidden, _level);
        }
        _rope.Tables(batch.Positions.Slice(c0, rows), _cos, _sin);
        for (int i = 0; i < rows; i++)
        {
            int parent = batch.Parents.IsEmpty ? i - 1 : batch.Parents[c0 + i];
            _visible[i] = (1UL << i) | (parent >= 0 ? _visible[parent] : 0);
        }

        var attention = new Attention.Problem
        {
            Q = _q, Output = _att, HeadStride = kv.HeadStride, T = rows, Heads = c.HeadCount, KvHeads = c.KvHeadCount,
            HeadDim = _headDim, Past = kv.Length, Visible = _visible, Scale = 1f / MathF.Sqrt(_headDim),
            Half = kv.Type == KvCacheType.F16,
        };
        for (int l = 0; l < _layers.Length; l++)
        {
            LayerWeights w = _layers[l];
            NormRows(_x, w.AttentionNorm, _xn, rows);
            Matmul.Run(_pool, _workspace, _xn, rows, _level,
                new MatmulPart(w.Q, _q), new MatmulPart(w.K, _k), new MatmulPart(w.V, _v));
            for (int i = 0; i < rows; i++)
            {
                float* q = _q + (long)i * _qDim, k = _k + (long)i * _kvDim, v = _v + (long)i * _kvDim;
                if (w.QBias != null)
                {
                    Add(q, w.QBias, _qDim);
                    Add(k, w.KBias, _kvDim);
                    Add(v, w.VBias, _kvDim);
                }
                if (w.QNorm != null)
                {
                    for (int h = 0; h < c.HeadCount; h++) RmsNorm.Apply(q + h * _headDim, w.QNorm, q + h * _headDim, _headDim, c.RmsNormEps, _level);
                    for (int h = 0; h < c.KvHeadCount; h++) RmsNorm.Apply(k + h * _headDim, w.KNorm, k + h * _headDim, _headDim, c.RmsNormEps, _level);
                }
                _rope.Apply(q, c.HeadCount, _cos + (long)i * _headDim, _sin + (long)i * _headDim, _level);
                _rope.Apply(k, c.KvHeadCount, _cos + (long)i * _headDim, _sin + (long)i * _headDim, _level);
                StoreKv(kv, l, kv.Length + i, k, v);
            }
            attention.K = kv.Keys(l);
            attention.V = kv.Values(l);
            Attention.Run(_pool, attention, _attentionScratch, _level);
            Matmul.Run(_pool, _workspace, _att, rows, _level, new MatmulPart(w.Output, _xn));
            Add(_x, _xn, rows * _hidden);

            NormRows(_x, w.FfnNorm, _xn, rows);
            Matmul.Run(_pool, _workspace, _xn, rows, _level, new MatmulPart(w.Gate, _gate), new MatmulPart(w.Up, _up));
            SwiGlu.Apply(_gate, _up, rows * _ffn, _level);
            Matmul.Run(_pool, _workspace, _up, rows, _level, new MatmulPart(w.Down, _xn));
            Add(_x, _xn, rows * _hidden);

            CaptureHidden(batch, l, c0, rows);
        }
    }

    void StoreKv(KvCache kv, int layer, int position, float* k, float* v)
    {
        for (int h = 0; h < Config.KvHeadCount; h++)
            kv.Write(layer, h, position, k + h * _headDim, v + h * _headDim);
    }

    /// <summary>Copies the residual stream after layer <paramref name="layer"/> where HiddenLayers asks for it.</summary>
    void CaptureHidden(in ForwardBatch batch, int layer, int c0, int rows)
    {
        int n = batch.Tokens.Length;
        for (int j = 0; j < batch.HiddenLayers.Length; j++)
            if (batch.HiddenLayers[j] == layer)
                new ReadOnlySpan<float>(_x, rows * _hidden).CopyTo(batch.Hidden.Slice((j * n + c0) * _hidden));
    }

    /// <summary>The final-normed state (HiddenLayers entry LayerCount) of every row of the chunk.</summary>
    void CaptureFinal(in ForwardBatch batch, int c0, int rows, float* hidden)
    {
        int n = batch.Tokens.Length;
        for (int j = 0; j < batch.HiddenLayers.Length; j++)
            if (batch.HiddenLayers[j] == Config.LayerCount)
                NormRows(_x, _outputNorm, hidden + ((long)j * n + c0) * _hidden, rows);
    }

    /// <summary>
    /// Output head over only the rows whose logits were asked for: each maximal run of consecutive output
    /// slots whose rows lie in this chunk is gathered and multiplied straight into the caller's logits.
    /// </summary>
    void ComputeLogits(in ForwardBatch batch, int c0, int rows, int logitRows, float* logits, int vocab)
    {
        int n = batch.Tokens.Length;
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
                RmsNorm.Apply(_x + (long)(row - c0) * _hidden, _outputNorm, _headIn + (long)m * _hidden, _hidden, Config.RmsNormEps, _level);
                m++;
                o++;
            }
            Matmul.Run(_pool, _workspace, _headIn, m, _level, new MatmulPart(_outputHead, logits + (long)first * vocab));
        }
    }

    void NormRows(float* x, float* weight, float* y, int rows)
    {
        for (int i = 0; i < rows; i++)
            RmsNorm.Apply(x + (long)i * _hidden, weight, y + (long)i * _hidden, _hidden, Config.RmsNormEps, _level);
    }

    static void Add(float* x, float* y, int n) =>
        System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(x, n), new ReadOnlySpan<float>(y, n), new Span<float>(x, n));

    // ---- loading ----

    static void ValidateConfig(string path, ModelConfig c)
    {
        void Check(bool ok, string problem)
        {
            if (!ok) throw new ModelFormatException(path, problem);
        }
        Check(c.VocabSize > 0 && c.HiddenSize > 0 && c.IntermediateSize > 0 && c.LayerCount > 0, "vocabulary, hidden, feed-forward and layer sizes must be positive");
        Check(c.HeadCount > 0 && c.KvHeadCount > 0 && c.HeadCount % c.KvHeadCount == 0,
            $"{c.HeadCount} attention heads cannot be grouped over {c.KvHeadCount} KV heads");
        Check(c.HeadCount / c.KvHeadCount <= Attention.MaxQueries, $"more than {Attention.MaxQueries} query heads per KV head are not supported");
        Check(c.HeadDim > 0 && c.HeadDim % 2 == 0, $"head dimension {c.HeadDim} must be positive and even");
        Check(c.RmsNormEps > 0, "rms_norm_eps must be positive");
    }

    LayerWeights LoadLayer(int l, ModelConfig c)
    {
        var w = new LayerWeights
        {
            Q = Matrix(TensorNames.AttnQ(l), _qDim, _hidden),
            K = Matrix(TensorNames.AttnK(l), _kvDim, _hidden),
            V = Matrix(TensorNames.AttnV(l), _kvDim, _hidden),
            Output = Matrix(TensorNames.AttnOutput(l), _hidden, _qDim),
            Gate = Matrix(TensorNames.FfnGate(l), _ffn, _hidden),
            Up = Matrix(TensorNames.FfnUp(l), _ffn, _hidden),
            Down = Matrix(TensorNames.FfnDown(l), _hidden, _ffn),
            AttentionNorm = Vector(TensorNames.AttnNorm(l), _hidden),
            FfnNorm = Vector(TensorNames.FfnNorm(l), _hidden),
        };
        if (c.AttentionBias)
        {
            w.QBias = Vector(TensorNames.AttnQBias(l), _qDim);
            w.KBias = Vector(TensorNames.AttnKBias(l), _kvDim);
            w.VBias = Vector(TensorNames.AttnVBias(l), _kvDim);
        }
        if (c.QkNorm)
        {
            w.QNorm = Vector(TensorNames.AttnQNorm(l), _headDim);
            w.KNorm = Vector(TensorNames.AttnKNorm(l), _headDim);
        }
        return w;
    }

    WeightTensor Require(string name) =>
        _source.Find(name) ?? throw new ModelFormatException(_source.Path, $"tensor {name} is missing");

    void CheckShape(WeightTensor t, long[] dims)
    {
        if (!t.Dims.AsSpan().SequenceEqual(dims))
            throw new ModelFormatException(_source.Path,
                $"tensor {t.Name} has shape [{string.Join(", ", t.Dims)}]; the config implies [{string.Join(", ", dims)}]");
        if (!Dequantize.Supports(t.Type))
            throw new ModelFormatException(_source.Path, $"tensor {t.Name} is {t.Type}, which this build cannot compute with yet");
        if (t.ByteLength < GgmlTypeInfo.ByteCount(t.Type, t.ElementCount))
            throw new ModelFormatException(_source.Path, $"tensor {t.Name} holds {t.ByteLength} bytes, fewer than its shape needs");
    }

    /// <summary>W[rows × columns]: GGUF dims [columns, rows].</summary>
    LinearWeight Matrix(string name, int rows, int columns)
    {
        WeightTensor t = Require(name);
        CheckShape(t, [columns, rows]);
        if (columns % GgmlTypeInfo.BlockSize(t.Type) != 0)
            throw new ModelFormatException(_source.Path, $"tensor {name}: rows of {columns} are not whole {t.Type} blocks");
        LinearWeight weight = LinearWeight.From(t);
        if (!PackedWeights.Applies(t.Type, _level)) return weight;
        var (packed, buffer) = PackedWeights.Pack(weight);
        _buffers.Add(buffer);
        // The matmul reads only the packed copy; the embedding lookup still reads token_embd's rows.
        if (name != TensorNames.TokenEmbedding) _source.Evict(t);
        return packed;
    }

    /// <summary>
    /// What sets <see cref="LinearWeight.FiniteHalves"/> on the F16 matrices without Inf or NaN, which the matmul then reads
    /// as raw bits (<see cref="HalfBits"/>); finding out reads every F16 weight once, over the pool.
    /// </summary>
    Func<LinearWeight, LinearWeight> FiniteHalvesMarker()
    {
        LinearWeight[] halves = _layers.SelectMany(l => l.Matrices).Append(_outputHead)
            .Where(w => w.Type == GgmlType.F16).DistinctBy(w => (nint)w.Data).ToArray();
        bool[] finite = halves.Length == 0 ? [] : HalfBits.AllFinite(_pool, halves);
        var byData = new Dictionary<nint, bool>();
        for (int i = 0; i < halves.Length; i++) byData[(nint)halves[i].Data] = finite[i];
        return w => w.Type == GgmlType.F16 ? w with { FiniteHalves = byData[(nint)w.Data] } : w;
    }

    /// <summary>A 1-D tensor of n elements, converted to f32 in native memory.</summary>
    float* Vector(string name, int n)
    {
        WeightTensor t = Require(name);
        CheckShape(t, [n]);
        float* p = Floats(n);
        Dequantize.Row(t.Type, (byte*)t.Data, p, n, SimdLevel.Scalar);
        return p;
    }

    float* Floats(long n)
    {
        var b = new NativeBuffer<float>(n);
        _buffers.Add(b);
        return b.Pointer;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsPool) _pool.Dispose();
        foreach (IDisposable b in _buffers) b.Dispose();
        _source.Dispose();
    }
}
