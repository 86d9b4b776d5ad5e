using SpecDec.Formats;
using SpecDec.Kernels;
using SpecDec.Kernels.Quant;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Tools.Synthetic;

/// <summary>
/// A model of any Llama-family shape with seeded random weights in native memory: for measuring speed at
/// real sizes without downloading anything, and for engine tests that need many shapes. Matrices (and the
/// embedding) use the requested type, vectors are f32. Matrix entries are uniform with variance 1/fan-in so
/// activations stay in a realistic range through the layers. There is no tokenizer unless one is given: ids are
/// all it has.
/// </summary>
public sealed unsafe class SyntheticModelSource : IModelSource
{
    readonly List<WeightTensor> _tensors = [];
    readonly Dictionary<string, WeightTensor> _byName = [];
    readonly List<NativeBuffer<byte>> _buffers = [];

    readonly ITokenizer? _tokenizer;

    public SyntheticModelSource(ModelConfig config, GgmlType matrixType, int seed = 1, bool ropeFreqs = false, ITokenizer? tokenizer = null)
    {
        _tokenizer = tokenizer;
        if (!RunnableTypes.Contains(matrixType)) throw new NotSupportedException($"cannot synthesise {matrixType} weights");
        Config = config;
        Path = $"synthetic:{config.Architecture}-h{config.HiddenSize}-l{config.LayerCount}-{matrixType}";
        int h = config.HiddenSize, q = config.HeadCount * config.HeadDim, kv = config.KvHeadCount * config.HeadDim;
        int f = config.IntermediateSize, d = config.HeadDim;
        var rng = new SplitMix64((ulong)seed);
        // Divided by the embedding scale (Gemma's √H), as trained embeddings are small: else the scaled token row
        // would swamp every layer's contribution and the model would only echo its input.
        Add(TensorNames.TokenEmbedding, matrixType, [h, config.VocabSize], 1f / config.EmbeddingScale, rng);
        if (!config.TiedEmbeddings) Add(TensorNames.Output, matrixType, [h, config.VocabSize], Scale(h), rng);
        AddVector(TensorNames.OutputNorm, h, 1f, rng);
        if (ropeFreqs) AddVector(TensorNames.RopeFreqs, d / 2, 2f, rng, spread: 1f);
        // LongRoPE (a config with its original context): short factors in [1, 2], as Phi-3's are, long ones in [1, 7].
        if (config.RopeOriginalContext > 0)
        {
            AddVector(TensorNames.RopeFactorsShort, d / 2, 1.5f, rng, spread: 0.5f);
            AddVector(TensorNames.RopeFactorsLong, d / 2, 4f, rng, spread: 3f);
        }
        for (int l = 0; l < config.LayerCount; l++)
        {
            if (config.FusedQkv) Add(TensorNames.AttnQkv(l), matrixType, [h, q + 2 * kv], Scale(h), rng);
            else
            {
                Add(TensorNames.AttnQ(l), matrixType, [h, q], Scale(h), rng);
                Add(TensorNames.AttnK(l), matrixType, [h, kv], Scale(h), rng);
                Add(TensorNames.AttnV(l), matrixType, [h, kv], Scale(h), rng);
            }
            Add(TensorNames.AttnOutput(l), matrixType, [q, h], Scale(q), rng);
            if (config.IsMoe)
            {
                // The router in F32 as llama.cpp keeps it; the experts stacked as GGUF stores them.
                int e = config.ExpertCount, fe = config.ExpertFfnSize;
                Add(TensorNames.FfnRouter(l), GgmlType.F32, [h, e], Scale(h), rng);
                Add(TensorNames.FfnGateExps(l), matrixType, [h, fe, e], Scale(h), rng);
                Add(TensorNames.FfnUpExps(l), matrixType, [h, fe, e], Scale(h), rng);
                Add(TensorNames.FfnDownExps(l), matrixType, [fe, h, e], Scale(fe), rng);
            }
            else if (config.FusedGateUp)
            {
                Add(TensorNames.FfnUp(l), matrixType, [h, 2 * f], Scale(h), rng);
                Add(TensorNames.FfnDown(l), matrixType, [f, h], Scale(f), rng);
            }
            else
            {
                Add(TensorNames.FfnGate(l), matrixType, [h, f], Scale(h), rng);
                Add(TensorNames.FfnUp(l), matrixType, [h, f], Scale(h), rng);
                Add(TensorNames.FfnDown(l), matrixType, [f, h], Scale(f), rng);
            }
            AddVector(TensorNames.AttnNorm(l), h, 1f, rng);
            AddVector(TensorNames.FfnNorm(l), h, 1f, rng);
            if (config.PostNorms)
            {
                AddVector(TensorNames.PostAttnNorm(l), h, 1f, rng);
                AddVector(TensorNames.PostFfnNorm(l), h, 1f, rng);
            }
            if (config.AttentionBias)
            {
                AddVector(TensorNames.AttnQBias(l), q, 0f, rng);
                AddVector(TensorNames.AttnKBias(l), kv, 0f, rng);
                AddVector(TensorNames.AttnVBias(l), kv, 0f, rng);
            }
            if (config.QkNorm)
            {
                AddVector(TensorNames.AttnQNorm(l), config.QkNormWhole ? q : d, 1f, rng);
                AddVector(TensorNames.AttnKNorm(l), config.QkNormWhole ? kv : d, 1f, rng);
            }
        }
    }

    public string Path { get; }
    public string FormatName => "synthetic";
    public ModelConfig Config { get; }
    public ITokenizer Tokenizer => _tokenizer ?? throw new NotSupportedException($"{Path} has no tokenizer");
    public IReadOnlyList<WeightTensor> Tensors => _tensors;
    public IReadOnlyDictionary<string, object> Metadata { get; } = new Dictionary<string, object>();
    public WeightTensor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Uniform on ±sqrt(3/n): variance 1/n.</summary>
    static float Scale(int fanIn) => MathF.Sqrt(3f / fanIn);

    void Add(string name, GgmlType type, long[] dims, float scale, SplitMix64 rng)
    {
        int rowLength = (int)dims[0];
        long rows = dims.Skip(1).Aggregate(1L, (a, b) => a * b);
        long rowBytes = GgmlTypeInfo.ByteCount(type, rowLength);
        var buffer = new NativeBuffer<byte>(rowBytes * rows);
        var row = new float[rowLength];
        for (long r = 0; r < rows; r++)
        {
            for (int i = 0; i < rowLength; i++) row[i] = rng.NextSigned() * scale;
            WeightQuantizer.Row(type, row, new Span<byte>(buffer.Pointer + r * rowBytes, (int)rowBytes));
        }
        Register(new WeightTensor(name, type, dims, (nint)buffer.Pointer, buffer.Length), buffer);
    }

    /// <summary>Uniform on center ± spread: norm weights near 1, biases near 0.</summary>
    void AddVector(string name, int n, float center, SplitMix64 rng, float spread = 0.1f)
    {
        var buffer = new NativeBuffer<byte>(n * 4L);
        var values = new Span<float>(buffer.Pointer, n);
        for (int i = 0; i < n; i++) values[i] = center + rng.NextSigned() * spread;
        Register(new WeightTensor(name, GgmlType.F32, [n], (nint)buffer.Pointer, buffer.Length), buffer);
    }

    void Register(WeightTensor tensor, NativeBuffer<byte> buffer)
    {
        _tensors.Add(tensor);
        _byName.Add(tensor.Name, tensor);
        _buffers.Add(buffer);
    }

    public void Dispose()
    {
        foreach (NativeBuffer<byte> b in _buffers) b.Dispose();
    }

    /// <summary>SplitMix64: fast enough to fill a billion weights in seconds, and the same on every platform.</summary>
    sealed class SplitMix64(ulong seed)
    {
        ulong _state = seed;

        /// <summary>Uniform on [−1, 1).</summary>
        public float NextSigned() => (Xoshiro256StarStar.SplitMix64(ref _state) >> 40) * (2f / (1 << 24)) - 1f;
    }
}
