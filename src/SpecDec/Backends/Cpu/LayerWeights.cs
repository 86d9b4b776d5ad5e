using SpecDec.Kernels.Linear;

namespace SpecDec.Backends.Cpu;

/// <summary>
/// One decoder block as the CPU kernels read it (<see cref="CpuWeights"/>): matrices over the mapped file or a
/// repacked copy; the small vectors (norms, biases) are f32 copies in native memory made at load (null where
/// the architecture has none).
/// </summary>
internal sealed unsafe class LayerWeights
{
    public required LinearWeight Q, K, V, Output, Gate, Up, Down;
    /// <summary>[hidden] RMSNorm weights; AttentionNorm is null in an EAGLE head's block (no input norm).</summary>
    public required float* AttentionNorm, FfnNorm;

    /// <summary>Qwen2: [Heads·HeadDim] and [KvHeads·HeadDim].</summary>
    public float* QBias, KBias, VBias;

    /// <summary>Qwen3: [HeadDim] RMSNorm weights applied per head.</summary>
    public float* QNorm, KNorm;

    /// <summary>Gemma 2/3: [hidden] RMSNorm weights on the attention and feed-forward outputs.</summary>
    public float* PostAttentionNorm, PostFfnNorm;

    public IEnumerable<LinearWeight> Matrices => [Q, K, V, Output, Gate, Up, Down];

    /// <summary>Replaces every matrix by <paramref name="map"/> of it.</summary>
    public void MapMatrices(Func<LinearWeight, LinearWeight> map)
    {
        Q = map(Q);
        K = map(K);
        V = map(V);
        Output = map(Output);
        Gate = map(Gate);
        Up = map(Up);
        Down = map(Down);
    }
}
