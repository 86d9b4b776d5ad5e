using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Q4_1, Q5_0, Q5_1, IQ4_NL and MXFP4 weights (<see cref="IPackedBlock32"/>) repacked at load, and their matmul against
/// the Q8 activations on every <see cref="KernelPath"/>: 8 rows interleaved block by block as <see cref="Q8_0Packed"/>,
/// their 4- or 5-bit indices as <see cref="PackedNibbles"/>. The packed copy is exactly the file's size.
///
/// Group layout (rows 8g..8g+7, zero rows past the end), per block of 32 columns:
///   [8 × f16] d of each row (MXFP4: [8 bytes] each row's exponent e, d = 2^(e − 128) built from its bits in the
///   kernel, as <see cref="BlockMXFP4.Scale"/>), then for the formats with an offset [8 × f16] m of each row
///   [128 bytes] the 8 rows' indices (<see cref="PackedNibbles"/>), then for 5-bit indices [32 bytes] their fifth bits
///
/// Per block and row, in int32: S = Σ u·a + Offset·Σa (Q4_1, Q5_0, Q5_1: unsigned u, Q5_0's −16 from the activation
/// block's sum), or S = Σ Table[u]·a (IQ4_NL, MXFP4: the indices looked up as w + 128 and summed from the activations' bias
/// where the path is <see cref="IInt8Dot.Biased"/>, as <see cref="Q8_0Packed"/>); then v = d·S, v = fma(m, Σa, v) for
/// the formats with an offset, and y = fma(d_a, v, y) in block order. The scalar twin computes the same integers and
/// float operations: the same bits, and a row's result does not depend on T.
/// </summary>
internal readonly unsafe struct Block32Packed<TBlock> : IPackedGroupKernel where TBlock : IPackedBlock32
{
    const int GroupRows = Q8_0Packed.GroupRows;
    const int Block = 32;
    const int MaxPassRows = 4; // the 8 index vectors (or their prepared weights) and four rows' sums fill the registers

    static int ScaleBytes => (TBlock.HasMin ? 2 : 1) * GroupRows * (TBlock.ExponentScale ? 1 : 2);
    static byte* Fifth(byte* nibbles) => TBlock.IndexBits == 5 ? nibbles + PackedNibbles.Bytes : null;
    static int GroupBlockBytes => ScaleBytes + PackedNibbles.Bytes + (TBlock.IndexBits == 5 ? PackedNibbles.FifthBytes : 0);

    static int IPackedGroupKernel.BlockColumns => Block;
    static int IPackedGroupKernel.GroupBlockBytes => GroupBlockBytes;
    static int IPackedGroupKernel.MaxPassRows => MaxPassRows;

    static void IPackedGroupKernel.Pack(in LinearWeight w, byte* dst)
    {
        int blocks = w.Columns / Block;
        int groups = (w.Rows + GroupRows - 1) / GroupRows;
        sbyte* v = stackalloc sbyte[Block];
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)g * blocks + b) * GroupBlockBytes;
                byte* nibbles = o + ScaleBytes;
                for (int r = 0; r < GroupRows && g * GroupRows + r < w.Rows; r++)
                {
                    byte* src = w.Row(g * GroupRows + r) + b * TBlock.Bytes;
                    // d and m are f16 in every packed format but MXFP4: through f32 and back they keep their bits.
                    if (TBlock.ExponentScale) o[r] = *src;
                    else ((Half*)o)[r] = (Half)TBlock.D(src);
                    if (TBlock.HasMin) ((Half*)o)[GroupRows + r] = (Half)TBlock.M(src);
                    TBlock.Values(src, v);
                    for (int l = 0; l < Block; l++) PackedNibbles.Put(nibbles, Fifth(nibbles), r, l, Index(v[l]));
                }
            }
    }

    /// <summary>The stored index of value v.</summary>
    static int Index(sbyte v)
    {
        if (!TBlock.Indexed) return v - TBlock.Offset;
        for (int u = 0; u < 16; u++)
            if (TBlock.Table.GetElement(u) == v) return u;
        throw new InvalidDataException($"{v} is not a value of {typeof(TBlock).Name}'s table");
    }

    /// <summary>The value of index u: the scalar twin's read.</summary>
    static int Value(int u) => TBlock.Indexed ? TBlock.Table.GetElement(u) : u + TBlock.Offset;

    /// <summary>Outputs [row0, row1) of every activation row; row0 a multiple of <see cref="GroupRows"/>.</summary>
    internal static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, KernelPath path) =>
        PackedGroups.Rows<Block32Packed<TBlock>>(w, x, y, row0, row1, path);

    static void IPackedGroupKernel.GroupScalar(byte* group, int blocks, in Activations x, float* y, int ldy, int valid)
    {
        for (int c = 0; c < x.T; c++)
            for (int r = 0; r < valid; r++)
            {
                float acc = 0;
                for (int b = 0; b < blocks; b++)
                {
                    byte* block = group + (long)b * GroupBlockBytes, nibbles = block + ScaleBytes;
                    long i = (long)c * blocks + b;
                    sbyte* a = x.Q8 + i * Block;
                    int s = 0;
                    for (int l = 0; l < Block; l++) s += Value(PackedNibbles.Get(nibbles, Fifth(nibbles), r, l)) * a[l];
                    float v = D(block, r) * (float)s;
                    if (TBlock.HasMin) v = MathF.FusedMultiplyAdd(QuantFormat.HalfAt(block + 2 * (GroupRows + r)), SumOf(x.Q8Bias[i]), v);
                    acc = MathF.FusedMultiplyAdd(x.Q8Scale[i], v, acc);
                }
                y[(long)c * ldy + r] = acc;
            }
    }

    /// <summary>d of row r of a packed block: the scalar twin's read (an exponent byte is read as the file's block reads it).</summary>
    static float D(byte* block, int r) => TBlock.ExponentScale ? TBlock.D(block + r) : QuantFormat.HalfAt(block + 2 * r);

    /// <summary>d of the 8 rows of a packed block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Ds(byte* block) => TBlock.ExponentScale ? BlockMXFP4.Scales(block) : Q8_0Packed.Halves(block);

    /// <summary>Σa of an activation block from its bias −128·Σa.</summary>
    static int SumOf(int bias) => bias / -128;

    /// <summary>
    /// Activation rows c .. c + TRows.Count − 1 against each group of outputs [row0, row1); each block's indices are
    /// unpacked once for all of them. 256-bit on every path (the 512-bit path runs these 256-bit members).
    /// </summary>
    static void IPackedGroupKernel.Pass<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
    {
        int rows = TRows.Count; // a constant: each count compiles to its own loop
        if (rows > MaxPassRows) throw new NotSupportedException($"a {typeof(TBlock).Name} pass takes at most {MaxPassRows} rows");
        int stride = x.K / 4; // ints from one activation row's quants to the next
        int* q0 = (int*)(x.Q8 + (long)c * x.K);
        int* bias0 = x.Q8Bias + (long)c * blocks;
        float* da0 = x.Q8Scale + (long)c * blocks;
        // The table as w + 128, in both 128-bit halves for vpshufb.
        Vector256<byte> table = TBlock.Indexed ? Vector256.Create(TBlock.Table, TBlock.Table).AsByte() ^ Vector256.Create((byte)0x80) : default;
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            int valid = Math.Min(GroupRows, row1 - n); // the last group may be ragged
            Vector256<float> y0 = default, y1 = default, y2 = default, y3 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = group + (long)b * GroupBlockBytes, nibbles = block + ScaleBytes;
                Prefetch.Lines(block, (GroupBlockBytes + 63) / 64);
                Vector256<float> d = Ds(block), m = TBlock.HasMin ? Q8_0Packed.Halves(block + 2 * GroupRows) : default;
                int* q = q0 + b * (Block / 4), bias = bias0 + b;
                float* da = da0 + b;
                if (TBlock.Indexed)
                {
                    PackedNibbles.Lookup<TDot>(nibbles, table, out PackedNibbles.OffsetChunks w);
                    y0 = Scale(PackedNibbles.Dot<TDot>(w, q, Start<TDot>(bias)), d, m, bias, da, y0);
                    if (rows > 1) y1 = Scale(PackedNibbles.Dot<TDot>(w, q + stride, Start<TDot>(bias + blocks)), d, m, bias + blocks, da + blocks, y1);
                    if (rows > 2) y2 = Scale(PackedNibbles.Dot<TDot>(w, q + 2 * stride, Start<TDot>(bias + 2 * blocks)), d, m, bias + 2 * blocks, da + 2 * blocks, y2);
                    if (rows > 3) y3 = Scale(PackedNibbles.Dot<TDot>(w, q + 3 * stride, Start<TDot>(bias + 3 * blocks)), d, m, bias + 3 * blocks, da + 3 * blocks, y3);
                }
                else
                {
                    PackedNibbles.Unpack(nibbles, Fifth(nibbles), out PackedNibbles.Chunks w);
                    y0 = Scale(Offset(PackedNibbles.Dot<TDot>(w, q), bias), d, m, bias, da, y0);
                    if (rows > 1) y1 = Scale(Offset(PackedNibbles.Dot<TDot>(w, q + stride), bias + blocks), d, m, bias + blocks, da + blocks, y1);
                    if (rows > 2) y2 = Scale(Offset(PackedNibbles.Dot<TDot>(w, q + 2 * stride), bias + 2 * blocks), d, m, bias + 2 * blocks, da + 2 * blocks, y2);
                    if (rows > 3) y3 = Scale(Offset(PackedNibbles.Dot<TDot>(w, q + 3 * stride), bias + 3 * blocks), d, m, bias + 3 * blocks, da + 3 * blocks, y3);
                }
            }
            Q8_0Packed.StoreRows<TRows>(y + n + (long)c * ldy, ldy, valid, y0, y1, y2, y3, default, default, default, default);
        }
    }

    /// <summary>A looked-up row's sum starts at its bias where the path sums the stored w + 128 (<see cref="IInt8Dot.Biased"/>), else at 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Start<TDot>(int* bias) where TDot : struct, IInt8Dot =>
        TDot.Biased ? Avx2.BroadcastScalarToVector256(bias) : Vector256<int>.Zero;

    /// <summary>s + Offset·Σa (Q5_0's −16 per value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Offset(Vector256<int> s, int* bias) => TBlock.Offset == 0 ? s : s + Vector256.Create(TBlock.Offset * SumOf(*bias));

    /// <summary>y + d_a · (d·S [+ m·Σa]), as the scalar twin computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Scale(Vector256<int> s, Vector256<float> d, Vector256<float> m, int* bias, float* da, Vector256<float> y)
    {
        Vector256<float> v = d * Avx.ConvertToVector256Single(s);
        if (TBlock.HasMin) v = Vector256.FusedMultiplyAdd(m, Vector256.Create((float)SumOf(*bias)), v);
        return Vector256.FusedMultiplyAdd(Avx.BroadcastScalarToVector256(da), v, y);
    }
}
