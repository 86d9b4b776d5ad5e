using System.Runtime.Intrinsics;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// A weight format of blocks of 32 read against Q8 activations (<see cref="ActivationQ8"/>): each block is
/// 32 small integers v, a scale d and (for the "_1" types) an offset m, x = d·v + m. The dot with an
/// activation block (scale d_a, quants a) is d·d_a·Σv·a + m·d_a·Σa, Σa coming from the activation bias.
/// <see cref="Block32Dot{TBlock}"/> runs every such format from these members.
/// </summary>
internal unsafe interface IBlock32
{
    static abstract int Bytes { get; }

    /// <summary>Whether the block has an offset m (Q4_1, Q5_1).</summary>
    static abstract bool HasMin { get; }

    static abstract float D(byte* block);

    static abstract float M(byte* block);

    /// <summary>The scalar reference: the 32 integers of the block in element order.</summary>
    static abstract void Values(byte* block, sbyte* v);

    /// <summary>The same 32 integers in one register (|v| ≤ 127, so they pair with int8 activations in vpmaddubsw).</summary>
    static abstract Vector256<sbyte> Unpack(byte* block);
}

/// <summary>
/// A 32-block format with a packed layout (<see cref="Linear.Block32Packed{TBlock}"/>): each value is an index u of
/// <see cref="IndexBits"/> bits, v = u + <see cref="Offset"/>, or v = <see cref="Table"/>[u] for an <see cref="Indexed"/> format;
/// its scale d an f16, or for an <see cref="ExponentScale"/> format the block's first byte, read by <see cref="IBlock32.D"/>.
/// </summary>
internal interface IPackedBlock32 : IBlock32
{
    /// <summary>4 or 5.</summary>
    static abstract int IndexBits { get; }

    /// <summary>v − u for a format that is not <see cref="Indexed"/> (Q5_0: −16).</summary>
    static abstract int Offset { get; }

    /// <summary>Whether v = <see cref="Table"/>[u] (IQ4_NL).</summary>
    static abstract bool Indexed { get; }

    /// <summary>The 16 values of an <see cref="Indexed"/> format.</summary>
    static abstract Vector128<sbyte> Table { get; }

    /// <summary>Whether d is an E8M0 exponent byte (MXFP4), packed as that byte, rather than an f16.</summary>
    static virtual bool ExponentScale => false;
}
