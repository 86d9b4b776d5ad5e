using SpecDec.Kernels.Linear;

namespace SpecDec.Backends.Cpu;

/// <summary>
/// One decoder block as the CPU kernels read it (<see cref="CpuWeights"/>): matrices over the mapped file or a
/// repacked copy; the small vectors (norms, biases) are f32 copies in native memory made at load (null where
/// the architecture has none).
/// </summary>
internal sealed unsafe class LayerWeights
{
    public required LinearWeight Q, K, V, Output;

    /// <summary>The dense feed-forward (default in a mixture-of-experts layer, which has <see cref="Router"/> instead).</summary>
    public LinearWeight Gate, Up, Down;

    /// <summary>Mixture of experts: the router [experts × hidden], null in a dense layer; [experts] each expert's matrices.</summary>
    public LinearWeight? Router;
    public LinearWeight[] ExpertGate = [], ExpertUp = [], ExpertDown = [];
    /// <summary>[hidden] RMSNorm weights; AttentionNorm is null in an EAGLE head's block (no input norm).</summary>
    public required float* AttentionNorm, FfnNorm;

    /// <summary>Qwen2: [Heads·HeadDim] and [KvHeads·HeadDim].</summary>
    public float* QBias, KBias, VBias;

    /// <summary>Qwen3: [HeadDim] RMSNorm weights applied per head.</summary>
    public float* QNorm, KNorm;

    /// <summary>Gemma 2/3: [hidden] RMSNorm weights on the attention and feed-forward outputs.</summary>
    public float* PostAttentionNorm, PostFfnNorm;

    public IEnumerable<LinearWeight> Matrices =>
        Router is { } router ? [Q, K, V, Output, router, .. ExpertGate, .. ExpertUp, .. ExpertDown] : [Q, K, V, Output, Gate, Up, Down];

    /// <summary>Replaces every matrix by <paramref name="map"/> of it.</summary>
    public void MapMatrices(Func<LinearWeight, LinearWeight> map)
    {
        Q = map(Q);
        K = map(K);
        V = map(V);
        Output = map(Output);
        if (Router is { } router)
        {
            Router = map(router);
            for (int e = 0; e < ExpertGate.Length; e++)
            {
                ExpertGate[e] = map(ExpertGate[e]);
                ExpertUp[e] = map(ExpertUp[e]);
                ExpertDown[e] = map(ExpertDown[e]);
            }
        }
        else
        {
            Gate = map(Gate);
            Up = map(Up);
            Down = map(Down);
        }
    }
}
