namespace SpecDec.Model;

/// <summary>
/// New tokens for one forward pass over a sequence whose earlier tokens are already in the KV cache.
/// Row i attends to every cached row plus its own ancestors among the new rows (and itself).
/// </summary>
public readonly ref struct ForwardBatch
{
    /// <summary>[n] token ids.</summary>
    public ReadOnlySpan<int> Tokens { get; init; }

    /// <summary>[n] RoPE positions (for a tree: cache length + depth).</summary>
    public ReadOnlySpan<int> Positions { get; init; }

    /// <summary>
    /// [n] index of each row's parent among the new rows (parent &lt; i), or -1 for a row whose only context
    /// is the cache. Empty means a causal chain (parent of i is i − 1).
    /// </summary>
    public ReadOnlySpan<int> Parents { get; init; }

    /// <summary>Rows whose logits are wanted, in output order. Empty means the last row only.</summary>
    public ReadOnlySpan<int> LogitRows { get; init; }

    /// <summary>
    /// Layers whose output hidden states are wanted: 0..LayerCount-1 is the residual stream after that block,
    /// LayerCount is the final-normed state the output head reads. Empty means none.
    /// </summary>
    public ReadOnlySpan<int> HiddenLayers { get; init; }

    /// <summary>Output for HiddenLayers: [HiddenLayers.Length × n × HiddenSize].</summary>
    public Span<float> Hidden { get; init; }

    /// <summary>A causal batch with positions start, start+1, … and logits for the last row.</summary>
    public static ForwardBatch Causal(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions) =>
        new() { Tokens = tokens, Positions = positions };
}
