using SpecDec.Formats;
using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Model;

/// <summary>
/// A decoder's weights, loaded and validated once and shared by every backend and sequence: the config's
/// sizes checked, every tensor found by its canonical name with the shape the config implies, of a runnable
/// type and long enough. Tensors stay memory-mapped in <see cref="Source"/>, which this object owns.
/// </summary>
public sealed class ModelWeights : IDisposable
{
    ModelWeights(IModelSource source)
    {
        Source = source;
        ModelConfig c = source.Config;
        ValidateConfig(c);
        int hidden = c.HiddenSize, qDim = c.HeadCount * c.HeadDim, kvDim = c.KvHeadCount * c.HeadDim, ffn = c.IntermediateSize;

        Embedding = Tensor(TensorNames.TokenEmbedding, [hidden, c.VocabSize]);
        OutputHead = c.TiedEmbeddings ? Matrix(TensorNames.TokenEmbedding, c.VocabSize, hidden)
                                      : Matrix(TensorNames.Output, c.LogitCount, hidden);
        OutputNorm = c.IsEagleHead ? null : Tensor(TensorNames.OutputNorm, [hidden]);
        InputProjection = c.IsEagleHead ? Matrix(TensorNames.EagleFc, hidden, 2 * hidden) : null;
        InputBias = c.IsEagleHead ? Tensor(TensorNames.EagleFcBias, [hidden]) : null;
        // llama3's rope_freqs, or LongRoPE's short and long factors (rope_freqs wins over both, as in llama.cpp).
        string? factors = Array.Find([TensorNames.RopeFreqs, TensorNames.RopeFactorsShort], n => source.Find(n) is not null);
        RopeFactors = factors is null ? null : Tensor(factors, [c.HeadDim / 2]);
        RopeFactorsLong = factors == TensorNames.RopeFactorsShort ? Tensor(TensorNames.RopeFactorsLong, [c.HeadDim / 2]) : null;
        var layers = new LayerTensors[c.LayerCount];
        for (int l = 0; l < layers.Length; l++)
        {
            WeightTensor? qkv = c.FusedQkv ? Matrix(TensorNames.AttnQkv(l), qDim + 2 * kvDim, hidden) : null;
            WeightTensor? gateUp = c.FusedGateUp && !c.IsMoe ? Matrix(TensorNames.FfnUp(l), 2 * ffn, hidden) : null;
            layers[l] = new LayerTensors
            {
                Q = qkv?.Rows(TensorNames.AttnQ(l), 0, qDim) ?? Matrix(TensorNames.AttnQ(l), qDim, hidden),
                K = qkv?.Rows(TensorNames.AttnK(l), qDim, kvDim) ?? Matrix(TensorNames.AttnK(l), kvDim, hidden),
                V = qkv?.Rows(TensorNames.AttnV(l), qDim + kvDim, kvDim) ?? Matrix(TensorNames.AttnV(l), kvDim, hidden),
                Output = Matrix(TensorNames.AttnOutput(l), hidden, qDim),
                Gate = c.IsMoe ? null : gateUp?.Rows(TensorNames.FfnGate(l), 0, ffn) ?? Matrix(TensorNames.FfnGate(l), ffn, hidden),
                Up = c.IsMoe ? null : gateUp?.Rows(TensorNames.FfnUp(l), ffn, ffn) ?? Matrix(TensorNames.FfnUp(l), ffn, hidden),
                Down = c.IsMoe ? null : Matrix(TensorNames.FfnDown(l), hidden, ffn),
                Router = c.IsMoe ? Matrix(TensorNames.FfnRouter(l), c.ExpertCount, hidden) : null,
                ExpertGate = c.IsMoe ? Experts(TensorNames.FfnGateExps(l), TensorNames.FfnGateExpert, l, c.ExpertFfnSize, hidden) : [],
                ExpertUp = c.IsMoe ? Experts(TensorNames.FfnUpExps(l), TensorNames.FfnUpExpert, l, c.ExpertFfnSize, hidden) : [],
                ExpertDown = c.IsMoe ? Experts(TensorNames.FfnDownExps(l), TensorNames.FfnDownExpert, l, hidden, c.ExpertFfnSize) : [],
                AttentionNorm = c.IsEagleHead ? null : Tensor(TensorNames.AttnNorm(l), [hidden]),
                FfnNorm = Tensor(TensorNames.FfnNorm(l), [hidden]),
                QBias = c.AttentionBias ? Tensor(TensorNames.AttnQBias(l), [qDim]) : null,
                KBias = c.AttentionBias ? Tensor(TensorNames.AttnKBias(l), [kvDim]) : null,
                VBias = c.AttentionBias ? Tensor(TensorNames.AttnVBias(l), [kvDim]) : null,
                QNorm = c.QkNorm ? Tensor(TensorNames.AttnQNorm(l), [c.QkNormWhole ? qDim : c.HeadDim]) : null,
                KNorm = c.QkNorm ? Tensor(TensorNames.AttnKNorm(l), [c.QkNormWhole ? kvDim : c.HeadDim]) : null,
                PostAttentionNorm = c.PostNorms ? Tensor(TensorNames.PostAttnNorm(l), [hidden]) : null,
                PostFfnNorm = c.PostNorms ? Tensor(TensorNames.PostFfnNorm(l), [hidden]) : null,
            };
        }
        Layers = layers;
    }

    /// <summary>Validates <paramref name="source"/>'s weights, then owns it (disposing it also when validation fails).</summary>
    public static ModelWeights Load(IModelSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            return new ModelWeights(source);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    public IModelSource Source { get; }
    public ModelConfig Config => Source.Config;
    public ITokenizer Tokenizer => Source.Tokenizer;

    /// <summary>token_embd [vocab rows × hidden]: the rows a token lookup reads.</summary>
    public WeightTensor Embedding { get; }

    /// <summary>[LogitCount × hidden]: output.weight, or token_embd when the embeddings are tied.</summary>
    public WeightTensor OutputHead { get; }

    /// <summary>[hidden] final RMSNorm weights; null for an EAGLE head, whose output head reads the block's output.</summary>
    public WeightTensor? OutputNorm { get; }

    /// <summary>An EAGLE head's fc [hidden × 2·hidden] and bias [hidden] (<see cref="ModelConfig.IsEagleHead"/>); else null.</summary>
    public WeightTensor? InputProjection { get; }
    public WeightTensor? InputBias { get; }

    /// <summary>[headDim/2] llama.cpp's rope_freqs divisors or LongRoPE's short factors, or null (<see cref="RopeFrequencies.Of"/>).</summary>
    public WeightTensor? RopeFactors { get; }

    /// <summary>[headDim/2] LongRoPE's long factors, for a sequence past the original context (<see cref="ModelConfig.TakesLongRope"/>); null without LongRoPE.</summary>
    public WeightTensor? RopeFactorsLong { get; }

    /// <summary>[LayerCount] decoder blocks.</summary>
    public IReadOnlyList<LayerTensors> Layers { get; }

    void ValidateConfig(ModelConfig c)
    {
        Check(c.VocabSize > 0 && c.HiddenSize > 0 && c.IntermediateSize > 0 && c.LayerCount > 0, "vocabulary, hidden, feed-forward and layer sizes must be positive");
        Check(c.HeadCount > 0 && c.KvHeadCount > 0 && c.HeadCount % c.KvHeadCount == 0,
            $"{c.HeadCount} attention heads cannot be grouped over {c.KvHeadCount} KV heads");
        Check(c.HeadDim > 0 && c.HeadDim % 2 == 0, $"head dimension {c.HeadDim} must be positive and even");
        Check(c.RmsNormEps > 0, "rms_norm_eps must be positive");
        Check(c.DraftVocab is null || (c.IsEagleHead && !c.TiedEmbeddings), "only an EAGLE head with an output head of its own has a draft vocabulary");
        Check(c.SlidingWindow >= 0 && (c.SlidingLayers.Count == 0 || c.SlidingLayers.Count == c.LayerCount),
            $"the sliding window pattern names {c.SlidingLayers.Count} layers of {c.LayerCount}");
        Check(c.AttentionSoftcap >= 0 && c.FinalLogitSoftcap >= 0 && c.RopeLinearFactor > 0 && c.RopeAttentionFactor > 0,
            "soft-caps must be ≥ 0 and the rope factors > 0");
        Check(!c.IsMoe || (c.ExpertsUsed >= 1 && c.ExpertsUsed <= c.ExpertCount && c.ExpertFfnSize > 0),
            $"{c.ExpertsUsed} experts used of {c.ExpertCount} (expert width {c.ExpertFfnSize}): need 1 ≤ used ≤ experts and a positive width");
    }

    void Check(bool ok, string problem)
    {
        if (!ok) throw new ModelFormatException(Source.Path, problem);
    }

    /// <summary>The tensor <paramref name="name"/>, which must have GGUF dims <paramref name="dims"/> and be runnable.</summary>
    WeightTensor Tensor(string name, long[] dims)
    {
        WeightTensor t = Source.Find(name) ?? throw new ModelFormatException(Source.Path, $"tensor {name} is missing");
        Check(t.Dims.AsSpan().SequenceEqual(dims),
            $"tensor {t.Name} has shape [{string.Join(", ", t.Dims)}]; the config implies [{string.Join(", ", dims)}]");
        Check(RunnableTypes.Contains(t.Type), $"tensor {t.Name} is {t.Type}, which this build cannot compute with yet");
        Check(t.ByteLength >= GgmlTypeInfo.ByteCount(t.Type, t.ElementCount), $"tensor {t.Name} holds {t.ByteLength} bytes, fewer than its shape needs");
        return t;
    }

    /// <summary>
    /// Each expert's W[rows × columns]: slices of the stacked tensor (GGUF dims [columns, rows, experts]) where the
    /// file has one, else the per-expert tensors.
    /// </summary>
    WeightTensor[] Experts(string stacked, Func<int, int, string> single, int layer, int rows, int columns)
    {
        int n = Config.ExpertCount;
        if (Source.Find(stacked) is null) return [.. Enumerable.Range(0, n).Select(e => Matrix(single(layer, e), rows, columns))];
        WeightTensor all = Tensor(stacked, [columns, rows, n]);
        Check(columns % GgmlTypeInfo.BlockSize(all.Type) == 0, $"tensor {stacked}: rows of {columns} are not whole {all.Type} blocks");
        return [.. Enumerable.Range(0, n).Select(e => all.Rows(single(layer, e), (long)e * rows, rows))];
    }

    /// <summary>W[rows × columns]: GGUF dims [columns, rows], rows of whole blocks.</summary>
    WeightTensor Matrix(string name, int rows, int columns)
    {
        WeightTensor t = Tensor(name, [columns, rows]);
        Check(columns % GgmlTypeInfo.BlockSize(t.Type) == 0, $"tensor {name}: rows of {columns} are not whole {t.Type} blocks");
        return t;
    }

    public void Dispose() => Source.Dispose();
}
