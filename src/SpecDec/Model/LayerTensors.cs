using SpecDec.Tensors;

namespace SpecDec.Model;

/// <summary>One decoder block's tensors, validated and still memory-mapped (null where the architecture has none).</summary>
public sealed class LayerTensors
{
    /// <summary>Matrices W[out × in]: Q [heads·headDim × hidden], K and V [kvHeads·headDim × hidden], Output [hidden × heads·headDim].</summary>
    public required WeightTensor Q, K, V, Output;

    /// <summary>Gate and Up [ffn × hidden], Down [hidden × ffn]; null in a mixture-of-experts layer.</summary>
    public required WeightTensor? Gate, Up, Down;

    /// <summary>Mixture of experts: the router [experts × hidden] and each expert's Gate/Up [expertFfn × hidden] and Down [hidden × expertFfn].</summary>
    public WeightTensor? Router;
    public IReadOnlyList<WeightTensor> ExpertGate = [], ExpertUp = [], ExpertDown = [];

    /// <summary>[hidden] RMSNorm weights before attention (null: none, an EAGLE head's block) and before the feed-forward.</summary>
    public required WeightTensor? AttentionNorm;
    public required WeightTensor FfnNorm;

    /// <summary>Qwen2: [heads·headDim] and [kvHeads·headDim].</summary>
    public WeightTensor? QBias, KBias, VBias;

    /// <summary>Qwen3: [headDim] RMSNorm weights applied per head.</summary>
    public WeightTensor? QNorm, KNorm;

    /// <summary>Gemma 2/3: [hidden] RMSNorm weights on the attention and feed-forward outputs.</summary>
    public WeightTensor? PostAttentionNorm, PostFfnNorm;

    public IEnumerable<WeightTensor> Matrices =>
        new[] { Q, K, V, Output, Gate, Up, Down, Router }.OfType<WeightTensor>().Concat(ExpertGate).Concat(ExpertUp).Concat(ExpertDown);
}
