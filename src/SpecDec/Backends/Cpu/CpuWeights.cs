using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Backends.Cpu;

/// <summary>
/// <see cref="ModelWeights"/> as the CPU kernels read them: matrices as <see cref="LinearWeight"/>s over the
/// mapped file, or over a copy repacked for this CPU (<see cref="PackedWeights"/>); the small vectors (norms,
/// biases) as f32 copies in native memory; the RoPE tables' frequencies. Read-only after load, so any number of
/// forwards may read it at once.
/// </summary>
internal sealed unsafe class CpuWeights : IDisposable
{
    readonly ModelWeights _model;
    readonly SimdLevel _level;
    readonly List<IDisposable> _buffers = [];

    public CpuWeights(ModelWeights model, SimdLevel level)
    {
        _model = model;
        _level = level;
        ModelConfig c = model.Config;
        int group = c.HeadCount / c.KvHeadCount;
        if (group > Attention.MaxQueries)
            throw new NotSupportedException($"{model.Source.Path}: {group} query heads per KV head; the CPU attention kernel takes at most {Attention.MaxQueries}");
        try
        {
            Embedding = model.Embedding;
            OutputHead = Matrix(model.OutputHead);
            OutputNorm = OptionalNorm(model.OutputNorm);
            InputProjection = model.InputProjection is { } fc ? Matrix(fc) : null;
            InputBias = OptionalVector(model.InputBias);
            Layers = model.Layers.Select(Layer).ToArray();
            Rope = GlobalRope(model.RopeFactors);
            LongRope = model.RopeFactorsLong is { } longFactors ? GlobalRope(longFactors) : null;
            SlidingRope = c.SlidingLayers.Contains(true) ? new Rope(c.HeadDim, c.RopeStyle, RopeFrequencies.OfSliding(c)) : null;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>token_embd, still mapped: the embedding lookup dequantizes one row per token.</summary>
    public WeightTensor Embedding { get; }
    public LinearWeight OutputHead { get; private set; }

    /// <summary>[hidden] final RMSNorm weights; null for an EAGLE head (no final norm).</summary>
    public float* OutputNorm { get; }

    /// <summary>An EAGLE head's fc [hidden × 2·hidden] and its bias [hidden]; null otherwise.</summary>
    public LinearWeight? InputProjection { get; }
    public float* InputBias { get; }
    public LayerWeights[] Layers { get; }

    /// <summary>The global layers' RoPE: plain, llama3-scaled, or with LongRoPE's short factors.</summary>
    public Rope Rope { get; }

    /// <summary>With LongRoPE's long factors (the same attention factor), or null without LongRoPE.</summary>
    public Rope? LongRope { get; }

    /// <summary>The global layers' RoPE for a sequence that may reach <paramref name="limit"/> positions (<see cref="ModelConfig.TakesLongRope"/>).</summary>
    public Rope RopeFor(int limit) => LongRope is not null && _model.Config.TakesLongRope(limit) ? LongRope : Rope;

    /// <summary>The sliding-window layers' RoPE (own base, no scaling), or null when no layer slides.</summary>
    public Rope? SlidingRope { get; }

    /// <summary>Whether some F16 matrix is read as raw bits, so the matmul needs scaled activations.</summary>
    public bool RawHalves => OutputHead.FiniteHalves || Layers.Any(l => l.Matrices.Any(w => w.FiniteHalves));

    /// <summary>
    /// Sets <see cref="LinearWeight.FiniteHalves"/> on the F16 matrices without Inf or NaN, which the matmul then
    /// reads as raw bits (<see cref="HalfBits"/>); finding out reads every F16 weight once, over the pool.
    /// </summary>
    public void MarkFiniteHalves(WorkerPool pool)
    {
        LinearWeight[] halves = Layers.SelectMany(l => l.Matrices).Append(OutputHead)
            .Where(w => w.Type == GgmlType.F16).DistinctBy(w => (nint)w.Data).ToArray();
        bool[] finite = halves.Length == 0 ? [] : HalfBits.AllFinite(pool, halves);
        var byData = new Dictionary<nint, bool>();
        for (int i = 0; i < halves.Length; i++) byData[(nint)halves[i].Data] = finite[i];
        LinearWeight Mark(LinearWeight w) => w.Type == GgmlType.F16 ? w with { FiniteHalves = byData[(nint)w.Data] } : w;
        foreach (LayerWeights layer in Layers) layer.MapMatrices(Mark);
        OutputHead = Mark(OutputHead);
    }

    LayerWeights Layer(LayerTensors t) => new()
    {
        Q = Matrix(t.Q), K = Matrix(t.K), V = Matrix(t.V), Output = Matrix(t.Output),
        Gate = t.Gate is null ? default : Matrix(t.Gate), Up = t.Up is null ? default : Matrix(t.Up), Down = t.Down is null ? default : Matrix(t.Down),
        Router = t.Router is null ? null : Matrix(t.Router),
        ExpertGate = [.. t.ExpertGate.Select(Matrix)], ExpertUp = [.. t.ExpertUp.Select(Matrix)], ExpertDown = [.. t.ExpertDown.Select(Matrix)],
        AttentionNorm = OptionalNorm(t.AttentionNorm), FfnNorm = Norm(t.FfnNorm),
        QBias = OptionalVector(t.QBias), KBias = OptionalVector(t.KBias), VBias = OptionalVector(t.VBias),
        QNorm = OptionalNorm(t.QNorm), KNorm = OptionalNorm(t.KNorm),
        PostAttentionNorm = OptionalNorm(t.PostAttentionNorm), PostFfnNorm = OptionalNorm(t.PostFfnNorm),
    };

    /// <summary>A validated matrix [Dims[0] = columns, Dims[1] = rows], repacked when this CPU has a layout for its type.</summary>
    LinearWeight Matrix(WeightTensor t)
    {
        var weight = new LinearWeight(t.Type, (byte*)t.Data, checked((int)t.Dims[1]), checked((int)t.Dims[0]));
        if (!PackedWeights.Applies(t.Type, _level)) return weight;
        var (packed, buffer) = PackedWeights.Pack(weight);
        _buffers.Add(buffer);
        // The matmul reads only the packed copy; the embedding lookup still reads token_embd's rows.
        if (t.Name != TensorNames.TokenEmbedding) _model.Source.Evict(t);
        return packed;
    }

    /// <summary>A validated 1-D tensor, converted to f32 in native memory.</summary>
    float* Vector(WeightTensor t)
    {
        int n = checked((int)t.ElementCount);
        var buffer = new NativeBuffer<float>(n);
        _buffers.Add(buffer);
        Dequantize.Row(t.Type, (byte*)t.Data, buffer.Pointer, n, SimdLevel.Scalar);
        return buffer.Pointer;
    }

    float* OptionalVector(WeightTensor? t) => t is null ? null : Vector(t);

    /// <summary>RoPE from the config's frequencies, divided by <paramref name="factors"/> [HeadDim/2] when given.</summary>
    Rope GlobalRope(WeightTensor? factors)
    {
        ModelConfig c = _model.Config;
        float[] frequencies = factors is null ? RopeFrequencies.Of(c) : RopeFrequencies.Of(c, new ReadOnlySpan<float>(Vector(factors), c.HeadDim / 2));
        return new Rope(c.HeadDim, c.RopeStyle, frequencies, c.RopeAttentionFactor);
    }

    /// <summary>RMSNorm weights as the kernel multiplies by them: the stored ones plus the config's offset (HF Gemma's 1 + w).</summary>
    float* Norm(WeightTensor t)
    {
        float* w = Vector(t);
        float offset = _model.Config.NormWeightOffset;
        if (offset != 0)
            for (long i = 0; i < t.ElementCount; i++) w[i] += offset;
        return w;
    }

    float* OptionalNorm(WeightTensor? t) => t is null ? null : Norm(t);

    public void Dispose()
    {
        foreach (IDisposable b in _buffers) b.Dispose();
        _buffers.Clear();
    }
}
