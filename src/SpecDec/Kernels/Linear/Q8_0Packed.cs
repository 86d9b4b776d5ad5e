using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Q8_0 weights repacked at load for AVX-VNNI, and their matmul. The file's layout (one row after another)
/// makes each activation row pay for sign fix-ups and a horizontal sum per weight row, so a batch of T rows
/// costs nearly T single-row passes. Here 8 weight rows are interleaved: one vpdpbusd multiplies 4 columns of
/// all 8 rows by 4 broadcast activation bytes, and the 8 lanes of the accumulator are the 8 outputs, so no
/// horizontal sum is needed and each extra activation row costs a few instructions per block.
///
/// Group layout (rows 8g..8g+7, zero rows past the end), per block of 32 columns, 272 bytes as in the file:
///   [8 × f16] the rows' scales
///   [8 chunks × 8 rows × 4 bytes] chunk j holds columns 4j..4j+3 of each row, as u8 = w + 128
/// vpdpbusd wants one unsigned operand; storing w + 128 makes it the weight, and the offset is taken back
/// exactly by starting each block's sum at −128·Σx (<see cref="Activations.Q8Bias"/>).
///
/// Each output is Σ_b fma(float(dot_b), d_w·d_x, acc) in block order, one lane per weight row, so the scalar
/// twin gives the same bits and a row's result does not depend on T.
/// </summary>
public readonly unsafe struct Q8_0Packed : IPackedGroupKernel
{
    public const int GroupRows = 8;
    const int BlockSize = BlockQ8_0.Size;
    const int ScaleBytes = GroupRows * 2;
    const int GroupBlockBytes = ScaleBytes + GroupRows * BlockSize; // 272

    /// <summary>Writes the packed copy of <paramref name="w"/> (file layout) into a zeroed buffer.</summary>
    static void IPackedGroupKernel.Pack(in LinearWeight w, byte* dst)
    {
        int blocks = w.Columns / BlockSize;
        int groups = (w.Rows + GroupRows - 1) / GroupRows;
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)g * blocks + b) * GroupBlockBytes;
                for (int r = 0; r < GroupRows; r++)
                {
                    int n = g * GroupRows + r;
                    byte* src = n < w.Rows ? w.Row(n) + b * BlockQ8_0.Bytes : null;
                    ((ushort*)o)[r] = src is null ? (ushort)0 : *(ushort*)src;
                    for (int i = 0; i < BlockSize; i++)
                        o[QuantOffset(r, i)] = (byte)((src is null ? 0 : ((sbyte*)src)[2 + i]) + 128);
                }
            }
    }

    /// <summary>Where quant i of row r sits in a group's block: chunk i / 4, then row r's 4 bytes.</summary>
    static int QuantOffset(int r, int i) => ScaleBytes + i / 4 * (GroupRows * 4) + r * 4 + i % 4;

    /// <summary>Outputs [row0, row1) of every activation row; row0 a multiple of <see cref="GroupRows"/>.</summary>
    internal static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, SimdLevel level) =>
        PackedGroups.Rows<Q8_0Packed>(w, x, y, row0, row1, level);

    static int IPackedGroupKernel.BlockColumns => BlockSize;
    static int IPackedGroupKernel.GroupBlockBytes => GroupBlockBytes;

    static void IPackedGroupKernel.GroupScalar(byte* group, int blocks, in Activations x, float* y, int ldy, int valid)
    {
        for (int c = 0; c < x.T; c++)
        {
            sbyte* q = x.Q8 + (long)c * x.K;
            for (int r = 0; r < valid; r++)
            {
                float acc = 0;
                for (int b = 0; b < blocks; b++)
                {
                    byte* block = group + (long)b * GroupBlockBytes;
                    int dot = x.Q8Bias[(long)c * blocks + b];
                    for (int i = 0; i < BlockSize; i++)
                        dot += block[QuantOffset(r, i)] * q[b * BlockSize + i];
                    float scale = QuantFormat.HalfAt(block + 2 * r) * x.Q8Scale[(long)c * blocks + b];
                    acc = MathF.FusedMultiplyAdd(dot, scale, acc);
                }
                y[(long)c * ldy + r] = acc;
            }
        }
    }

    /// <summary>
    /// Activation rows c .. c + rows − 1 against one group, each weight block loaded once for all of them.
    /// <paramref name="rows"/> is a constant at every call site, so inlining leaves one loop per row count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void IPackedGroupKernel.Pass(byte* group, int blocks, in Activations x, int c, int rows, float* y, int ldy, int valid)
    {
        int* q0 = (int*)(x.Q8 + (long)c * x.K), q1 = q0 + x.K / 4, q2 = q1 + x.K / 4, q3 = q2 + x.K / 4;
        int* bias0 = x.Q8Bias + (long)c * blocks;
        float* d0 = x.Q8Scale + (long)c * blocks;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int b = 0; b < blocks; b++)
        {
            byte* block = group + (long)b * GroupBlockBytes;
            Vector256<float> ws = Halves(block);
            int o = b * (BlockSize / 4);
            a0 = Block(block, ws, q0 + o, bias0[b], d0[b], a0);
            if (rows > 1) a1 = Block(block, ws, q1 + o, bias0[blocks + b], d0[blocks + b], a1);
            if (rows > 2) a2 = Block(block, ws, q2 + o, bias0[2 * blocks + b], d0[2 * blocks + b], a2);
            if (rows > 3) a3 = Block(block, ws, q3 + o, bias0[3 * blocks + b], d0[3 * blocks + b], a3);
        }
        Store(a0, y + (long)c * ldy, valid);
        if (rows > 1) Store(a1, y + (long)(c + 1) * ldy, valid);
        if (rows > 2) Store(a2, y + (long)(c + 2) * ldy, valid);
        if (rows > 3) Store(a3, y + (long)(c + 3) * ldy, valid);
    }

    /// <summary>acc + float(Σ w·x over one block) · d_w·d_x for the group's 8 rows; q = the block's 32 quants as 8 ints.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Block(byte* block, Vector256<float> ws, int* q, int bias, float dx, Vector256<float> acc)
    {
        byte* w = block + ScaleBytes;
        // Two independent chains (integer sums: the split does not change the result) halve the latency.
        Vector256<int> s0 = Vector256.Create(bias), s1 = Vector256<int>.Zero;
        s0 = AvxVnni.MultiplyWideningAndAdd(s0, Vector256.Load(w), Vector256.Create(q[0]).AsSByte());
        s1 = AvxVnni.MultiplyWideningAndAdd(s1, Vector256.Load(w + 32), Vector256.Create(q[1]).AsSByte());
        s0 = AvxVnni.MultiplyWideningAndAdd(s0, Vector256.Load(w + 64), Vector256.Create(q[2]).AsSByte());
        s1 = AvxVnni.MultiplyWideningAndAdd(s1, Vector256.Load(w + 96), Vector256.Create(q[3]).AsSByte());
        s0 = AvxVnni.MultiplyWideningAndAdd(s0, Vector256.Load(w + 128), Vector256.Create(q[4]).AsSByte());
        s1 = AvxVnni.MultiplyWideningAndAdd(s1, Vector256.Load(w + 160), Vector256.Create(q[5]).AsSByte());
        s0 = AvxVnni.MultiplyWideningAndAdd(s0, Vector256.Load(w + 192), Vector256.Create(q[6]).AsSByte());
        s1 = AvxVnni.MultiplyWideningAndAdd(s1, Vector256.Load(w + 224), Vector256.Create(q[7]).AsSByte());
        return Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(s0 + s1), ws * Vector256.Create(dx), acc);
    }

    /// <summary>The 8 f16 values at p as floats, bit for bit what <see cref="QuantFormat.HalfAt"/> gives each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Halves(byte* p) => Dequantize.HalfToFloat(Avx2.ConvertToVector256Int32((ushort*)p).AsUInt32());

    /// <summary>A group's 8 outputs to y, or its first <paramref name="valid"/> at the ragged end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store(Vector256<float> v, float* y, int valid)
    {
        if (valid == GroupRows) v.Store(y);
        else for (int r = 0; r < valid; r++) y[r] = v.GetElement(r);
    }
}
