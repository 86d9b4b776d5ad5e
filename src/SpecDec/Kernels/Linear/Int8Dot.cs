using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// The int8 multiply-accumulate of one <see cref="KernelPath"/>, which the packed kernels are generic over: each
/// int32 lane gains Σ of its 4 byte products, so a packed chunk (4 columns of 8 rows) times 4 broadcast activation
/// bytes adds one term to each row's sum. Integer sums are exact, so every path gives a kernel the same integers
/// and its scalar twin the same bits.
/// </summary>
internal interface IInt8Dot
{
    /// <summary>
    /// Whether Q8_0's passes are 512-bit (<see cref="Avx512BWDot"/>): two chunks a vector, lanes 8..15 the next chunk's.
    /// The K-quant kernels run 256-bit passes on every path: spreading a sub-block's activations to 512-bit chunk pairs
    /// takes a vpermd per chunk pair and row, which measured slower than the 256-bit passes' broadcasts from memory.
    /// </summary>
    static abstract bool Wide { get; }

    /// <summary>acc + Σ w·x per int32 lane, for unsigned weights of at most 128 (nibbles, 6-bit quants): vpmaddubsw's pairs cannot saturate.</summary>
    static abstract Vector256<int> Unsigned(Vector256<int> acc, Vector256<byte> w, Vector256<sbyte> x);

    /// <summary>
    /// Whether <see cref="Offset(Vector256{int}, in OffsetWeights, Vector256{sbyte})"/> sums the stored bytes u = w + 128
    /// as they are (vpdpbusd), so a block's sum starts at −128·Σx (<see cref="Activations.Q8Bias"/>); otherwise it sums w·x.
    /// </summary>
    static abstract bool Biased { get; }

    /// <summary>Bytes u = w + 128 (<see cref="Q8_0Packed"/>) in the form <see cref="Offset(Vector256{int}, in OffsetWeights, Vector256{sbyte})"/> reads, prepared once for every activation row.</summary>
    static abstract OffsetWeights Prepare(Vector256<byte> u);

    /// <summary>acc + Σ u·x (<see cref="Biased"/>) or Σ w·x per int32 lane.</summary>
    static abstract Vector256<int> Offset(Vector256<int> acc, in OffsetWeights w, Vector256<sbyte> x);

    /// <summary>
    /// partial + Σ w·x of one chunk for unsigned weights of at most 63, in the path's partial form, which the K-quant kernels
    /// add up over the columns of one scale before scaling once (<see cref="Scaled"/>): int32 lanes for vpdpbusd; for
    /// vpmaddubsw the int16 pair sums themselves (<see cref="Int16Partials"/>), as ggml's AVX2 K-quant dots keep them.
    /// </summary>
    static abstract Vector256<short> Accumulate(Vector256<short> partial, Vector256<byte> w, Vector256<sbyte> x);

    /// <summary>
    /// Whether a partial is int16 pair sums, so its caller keeps each int16 lane's Σ |w·x| within 32767: against |x| ≤ 127,
    /// 8 chunks of nibbles (30480) or 2 chunks of 6-bit quants (32004) a partial.
    /// </summary>
    static abstract bool Int16Partials { get; }

    /// <summary>Two partials of the same columns' scale as one, where their sums together stay within <see cref="Int16Partials"/>' bound.</summary>
    static abstract Vector256<short> Add(Vector256<short> a, Vector256<short> b);

    /// <summary>Per-lane scales (int32 lanes, within int16) in the form <see cref="Scaled"/> reads, prepared once for every activation row.</summary>
    static abstract Vector256<int> ScaleForm(Vector256<int> scale);

    /// <summary>scale · Σ partial per int32 lane (scale in <see cref="ScaleForm"/>'s form): a vpmulld, or a vpmaddwd that also adds the pairs.</summary>
    static abstract Vector256<int> Scaled(Vector256<short> partial, Vector256<int> scale);

    /// <summary>The 512-bit <see cref="Unsigned"/>, where <see cref="Wide"/>.</summary>
    static abstract Vector512<int> Unsigned(Vector512<int> acc, Vector512<byte> w, Vector512<sbyte> x);

    /// <summary>The 512-bit <see cref="Prepare(Vector256{byte})"/>, where <see cref="Wide"/>.</summary>
    static abstract OffsetWeights512 Prepare(Vector512<byte> u);

    /// <summary>The 512-bit <see cref="Offset(Vector256{int}, in OffsetWeights, Vector256{sbyte})"/>, where <see cref="Wide"/>.</summary>
    static abstract Vector512<int> Offset(Vector512<int> acc, in OffsetWeights512 w, Vector512<sbyte> x);
}

/// <summary>Offset weights as a path reads them: for vpmaddubsw |w| and w, whose sign goes onto the activations.</summary>
internal struct OffsetWeights
{
    public Vector256<byte> Magnitude;
    public Vector256<sbyte> Signed;
}

/// <summary>The 512-bit <see cref="OffsetWeights"/>.</summary>
internal struct OffsetWeights512
{
    public Vector512<byte> Magnitude;
    public Vector512<sbyte> Signed;
}

/// <summary>AVX-VNNI: one vpdpbusd (u8 × s8, 4 products into each int32 lane); the stored u = w + 128 is read as is.</summary>
internal readonly struct VnniDot : IInt8Dot
{
    public static bool Wide => false;
    public static bool Biased => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Unsigned(Vector256<int> acc, Vector256<byte> w, Vector256<sbyte> x) => AvxVnni.MultiplyWideningAndAdd(acc, w, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static OffsetWeights Prepare(Vector256<byte> u) => new() { Magnitude = u };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Offset(Vector256<int> acc, in OffsetWeights w, Vector256<sbyte> x) => AvxVnni.MultiplyWideningAndAdd(acc, w.Magnitude, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Accumulate(Vector256<short> partial, Vector256<byte> w, Vector256<sbyte> x) =>
        AvxVnni.MultiplyWideningAndAdd(partial.AsInt32(), w, x).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ScaleForm(Vector256<int> scale) => scale;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Add(Vector256<short> a, Vector256<short> b) => (a.AsInt32() + b.AsInt32()).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Scaled(Vector256<short> partial, Vector256<int> scale) => Avx2.MultiplyLow(partial.AsInt32(), scale);

    public static bool Int16Partials => false;

    public static Vector512<int> Unsigned(Vector512<int> acc, Vector512<byte> w, Vector512<sbyte> x) => throw new NotSupportedException();
    public static OffsetWeights512 Prepare(Vector512<byte> u) => throw new NotSupportedException();
    public static Vector512<int> Offset(Vector512<int> acc, in OffsetWeights512 w, Vector512<sbyte> x) => throw new NotSupportedException();
}

/// <summary>
/// AVX2: vpmaddubsw (u8 × s8, adjacent pairs into saturating int16) then vpmaddwd by ones (pairs into int32). Offset
/// weights become w = u ^ 0x80 and |w|, and the activations take w's sign (vpsignb), as llama.cpp's AVX2 dots do:
/// |w|·|x| ≤ 128 · 127, so a pair never saturates.
/// </summary>
internal readonly struct Avx2Dot : IInt8Dot
{
    public static bool Wide => false;
    public static bool Biased => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Unsigned(Vector256<int> acc, Vector256<byte> w, Vector256<sbyte> x) =>
        acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, x), Vector256.Create((short)1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static OffsetWeights Prepare(Vector256<byte> u)
    {
        Vector256<sbyte> w = (u ^ Vector256.Create((byte)0x80)).AsSByte();
        return new() { Magnitude = Avx2.Abs(w), Signed = w };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Offset(Vector256<int> acc, in OffsetWeights w, Vector256<sbyte> x) =>
        Unsigned(acc, w.Magnitude, Avx2.Sign(x, w.Signed));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Accumulate(Vector256<short> partial, Vector256<byte> w, Vector256<sbyte> x) =>
        partial + Avx2.MultiplyAddAdjacent(w, x);

    /// <summary>Each lane's scale in both of its int16 halves, so vpmaddwd multiplies both pair sums by it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ScaleForm(Vector256<int> scale) => (scale & Vector256.Create(0xFFFF)) | Vector256.ShiftLeft(scale, 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Add(Vector256<short> a, Vector256<short> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Scaled(Vector256<short> partial, Vector256<int> scale) => Avx2.MultiplyAddAdjacent(partial, scale.AsInt16());

    public static bool Int16Partials => true;

    public static Vector512<int> Unsigned(Vector512<int> acc, Vector512<byte> w, Vector512<sbyte> x) => throw new NotSupportedException();
    public static OffsetWeights512 Prepare(Vector512<byte> u) => throw new NotSupportedException();
    public static Vector512<int> Offset(Vector512<int> acc, in OffsetWeights512 w, Vector512<sbyte> x) => throw new NotSupportedException();
}

/// <summary>
/// AVX-512BW: <see cref="Avx2Dot"/>'s pair on 512 bits. AVX-512 has no vpsignb: the activations take w's sign by
/// negating them under the mask of w's negative bytes, and w = 0 needs nothing (its |w| is 0).
/// </summary>
internal readonly struct Avx512BWDot : IInt8Dot
{
    public static bool Wide => true;
    public static bool Biased => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Unsigned(Vector256<int> acc, Vector256<byte> w, Vector256<sbyte> x) => Avx2Dot.Unsigned(acc, w, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static OffsetWeights Prepare(Vector256<byte> u) => Avx2Dot.Prepare(u);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Offset(Vector256<int> acc, in OffsetWeights w, Vector256<sbyte> x) => Avx2Dot.Offset(acc, w, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Accumulate(Vector256<short> partial, Vector256<byte> w, Vector256<sbyte> x) => Avx2Dot.Accumulate(partial, w, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ScaleForm(Vector256<int> scale) => Avx2Dot.ScaleForm(scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Add(Vector256<short> a, Vector256<short> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Scaled(Vector256<short> partial, Vector256<int> scale) => Avx2Dot.Scaled(partial, scale);

    public static bool Int16Partials => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Unsigned(Vector512<int> acc, Vector512<byte> w, Vector512<sbyte> x) =>
        acc + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, x), Vector512.Create((short)1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static OffsetWeights512 Prepare(Vector512<byte> u)
    {
        Vector512<sbyte> w = (u ^ Vector512.Create((byte)0x80)).AsSByte();
        return new() { Magnitude = Avx512BW.Abs(w), Signed = w };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Offset(Vector512<int> acc, in OffsetWeights512 w, Vector512<sbyte> x) =>
        Unsigned(acc, w.Magnitude, Vector512.ConditionalSelect(Vector512.IsNegative(w.Signed), -x, x));
}
