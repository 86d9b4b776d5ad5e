namespace SpecDec.Kernels.Quant;

/// <summary>
/// Activations X[T × K] quantized to int8 for integer dot products: row c's quants start at Q + c·K, its
/// block scales at Scale + c·(K / block) and, for Q8_K (block 256), its per-16 sums at Sums + c·(K / 16).
/// Q8_0-style rows (block 32, <see cref="ActivationQ8"/>) carry no sums.
/// </summary>
public readonly unsafe struct Int8Rows(int t, int k, sbyte* q, float* scale, short* sums)
{
    public int T { get; } = t;
    public int K { get; } = k;

    /// <summary>[T × K] int8 quants.</summary>
    public sbyte* Q { get; } = q;

    /// <summary>[T × K/block] f32 scale of each block.</summary>
    public float* Scale { get; } = scale;

    /// <summary>[T × K/16] sum of each 16 quants (Q8_K only; null otherwise).</summary>
    public short* Sums { get; } = sums;
}
