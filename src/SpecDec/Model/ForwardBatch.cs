namespace SpecDec.Model;

/// <summary>
/// New rows for one forward pass over a sequence whose earlier tokens are already in the KV cache.
/// Row i attends to every cached row plus the new rows it sees: its ancestors and itself (causal chain or
/// <see cref="Parents"/>), or exactly the rows set in its <see cref="Mask"/>.
/// </summary>
public readonly ref struct ForwardBatch
{
    /// <summary>
    /// Rows a tree or masked batch may hold: each row's visibility is one 64-bit mask. The one definition of
    /// the limit; a backend computes longer causal batches (prompts) in chunks of this many rows.
    /// </summary>
    public const int MaxRows = 64;

    /// <summary>[n] token ids. Exactly one of Tokens and <see cref="Embeddings"/> is set.</summary>
    public ReadOnlySpan<int> Tokens { get; init; }

    /// <summary>
    /// [n × HiddenSize] input rows instead of token ids: the residual stream entering <see cref="FirstLayer"/>
    /// (e.g. features an EAGLE-style head computed). Rows of the embedding table give what their tokens give: rows
    /// entering block 0 are scaled by <see cref="ModelConfig.EmbeddingScale"/> as token lookups are (Gemma's √H).
    /// </summary>
    public ReadOnlySpan<float> Embeddings { get; init; }

    /// <summary>
    /// [n × HiddenSize] for an EAGLE head (<see cref="ModelConfig.IsEagleHead"/>) only, beside <see cref="Tokens"/>:
    /// the feature row i is concatenated with token i's embedding (the target's final-normed hidden state, or the
    /// head's own prediction of it while drafting).
    /// </summary>
    public ReadOnlySpan<float> Features { get; init; }

    /// <summary>[n] RoPE positions (for a tree: cache length + depth). Its length is the batch's row count.</summary>
    public ReadOnlySpan<int> Positions { get; init; }

    /// <summary>
    /// [n] index of each row's parent among the new rows (parent &lt; i), or -1 for a row whose only context
    /// is the cache. Empty means a causal chain (parent of i is i − 1), unless <see cref="Mask"/> is set.
    /// </summary>
    public ReadOnlySpan<int> Parents { get; init; }

    /// <summary>
    /// [n ≤ MaxRows] explicit visibility instead of Parents: bit j of Mask[i] means row i sees new row j. Row i
    /// sees itself and only earlier rows (bits j ≤ i, bit i set), so a lookahead window lists its rows in order.
    /// </summary>
    public ReadOnlySpan<ulong> Mask { get; init; }

    /// <summary>Rows whose logits are wanted, in output order. Empty means the last row only.</summary>
    public ReadOnlySpan<int> LogitRows { get; init; }

    /// <summary>
    /// Layers whose output hidden states are wanted: 0..LayerCount-1 is the residual stream after that block,
    /// LayerCount is the final-normed state the output head reads. Empty means none. With a layer range, only
    /// the range's layers (and LayerCount, the range's normed output) are written.
    /// </summary>
    public ReadOnlySpan<int> HiddenLayers { get; init; }

    /// <summary>Output for HiddenLayers: [HiddenLayers.Length × n × HiddenSize].</summary>
    public Span<float> Hidden { get; init; }

    /// <summary>
    /// First decoder block to run (0 unless a layer range is wanted). Blocks [FirstLayer, FirstLayer + Layers)
    /// run on the same weights; the final norm and head apply to the range's output (layer-skip drafting).
    /// Only those blocks' KV rows are written; the others' rows at these positions are left as they were.
    /// </summary>
    public int FirstLayer { get; init; }

    /// <summary>Blocks to run from FirstLayer; 0 means through the last block.</summary>
    public int Layers { get; init; }

    /// <summary>Rows in the batch (one per position).</summary>
    public int Count => Positions.Length;

    /// <summary>A causal batch with positions start, start+1, … and logits for the last row.</summary>
    public static ForwardBatch Causal(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions) =>
        new() { Tokens = tokens, Positions = positions };
}
