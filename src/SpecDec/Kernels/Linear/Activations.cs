namespace SpecDec.Kernels.Linear;

/// <summary>
/// X[T × K] in every form the weight kernels of one call read: f32 rows, and (when a quantized weight needs
/// them) int8 blocks of 32 with f32 scales (Q8_0, Q4_0) or Q8_K blocks of 256 with per-16 sums (Q4_K, Q6_K).
/// </summary>
public unsafe struct Activations
{
    public int T;
    public int K;

    /// <summary>[T × K]</summary>
    public float* F32;

    /// <summary>
    /// [T × K] the activations times 2^112, which F16 weights are read against as raw bits (<see cref="HalfBits"/>); null
    /// when no F16 weight with only finite values is in the call, when the workspace has no room for them, or when
    /// scaling would overflow.
    /// </summary>
    public float* F32Scaled;

    /// <summary>[T × K] int8 quants in blocks of 32 (null when no weight of the call needs them).</summary>
    public sbyte* Q8;

    /// <summary>[T × K/32] scale of each Q8 block.</summary>
    public float* Q8Scale;

    /// <summary>[T × K/32] −128·Σq of each Q8 block (see <see cref="Q8_0Packed"/>).</summary>
    public int* Q8Bias;

    /// <summary>
    /// [(T + passes) × K] the Q8 quants as packed Q8_0's passes read them (<see cref="Q8_0Packed.Interleave"/>): pass by pass,
    /// block by block, the pass's rows' quants of the block (the 512-bit passes' in pairs); null when no weight of the call needs them.
    /// </summary>
    public sbyte* Q8Passes;

    /// <summary>[T × K] int8 quants in Q8_K blocks of 256 (null when no weight of the call needs them).</summary>
    public sbyte* Q8K;

    /// <summary>[T × K/256] scale of each Q8_K block.</summary>
    public float* Q8KScale;

    /// <summary>[T × K/16] sum of each 16 Q8_K quants.</summary>
    public short* Q8KSums;
}
