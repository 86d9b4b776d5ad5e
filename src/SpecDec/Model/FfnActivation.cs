namespace SpecDec.Model;

/// <summary>The gate activation of a gated feed-forward: act(gate) ⊙ up.</summary>
public enum FfnActivation
{
    /// <summary>x·σ(x) (SwiGLU: Llama, Qwen).</summary>
    Silu,

    /// <summary>GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (GeGLU: Gemma).</summary>
    GeluTanh,
}
