using System.Runtime.Intrinsics;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// A K-quant weight format read against Q8_K activations (<see cref="ActivationQ8K"/>): each super-block of
/// 256 values is 256 small integers v, a 16-bit scale s_g and offset m_g per group g of 16, and two floats,
/// x = D·s_g·v − DMin·m_g. The dot with an activation block (scale d_a, quants a, per-16 sums) is
/// d_a·(D·Σ_g s_g·Σ_{i∈g} v_i·a_i − DMin·Σ_g m_g·sum_g). Formats whose groups are 32 wide repeat each scale
/// twice. <see cref="SuperBlockDot{TBlock}"/> runs every such format from these members.
/// </summary>
internal unsafe interface ISuperBlock
{
    static abstract int Bytes { get; }

    /// <summary>Whether v may be negative (IQ4_XS's table); otherwise 0 ≤ v ≤ 31.</summary>
    static abstract bool Signed { get; }

    /// <summary>Whether the format has offsets m_g (Q2_K, Q3_K, Q5_K).</summary>
    static abstract bool HasMins { get; }

    /// <summary>The scalar reference: v[256], scales[16], mins[16] (when <see cref="HasMins"/>), D and DMin.</summary>
    static abstract void Ints(byte* block, sbyte* v, short* scales, short* mins, out float d, out float dmin);

    /// <summary>The same in registers.</summary>
    static abstract void Unpack(byte* block, out SuperBlock u);
}

/// <summary>One super-block in registers: 4 × 64 integers in element order, the 16 group scales and offsets.</summary>
internal struct SuperBlock
{
    public Vector512<sbyte> Q0, Q1, Q2, Q3;
    public Vector256<short> Scales, Mins;
    public float D, DMin;
}

/// <summary>
/// A K-quant format with a packed layout (<see cref="Linear.SuperBlockPacked{TBlock}"/>): each value is a 4-bit index u,
/// v = u + <see cref="Offset"/>, or, for a <see cref="ISuperBlock.Signed"/> format (IQ4_XS), IQ4_NL's table at u.
/// </summary>
internal interface IPackedSuperBlock : ISuperBlock
{
    /// <summary>v − u: Q3_K's −4, which replaces its <see cref="ISuperBlock"/> offsets m_g = 4·s_g (taken from the activations' per-16 sums instead).</summary>
    static abstract int Offset { get; }
}
