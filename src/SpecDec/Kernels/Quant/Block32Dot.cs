using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// Dot products of weight rows in a 32-block format (<see cref="IBlock32"/>: Q4_1, Q5_0, Q5_1, IQ4_NL, MXFP4)
/// with Q8 activation rows, as llama.cpp's ggml_vec_dot_*_q8_0/q8_1: per block the integer Σv·a, scaled by
/// d·d_a, plus m·d_a·Σa for the formats with an offset. SIMD: |v| (u8) times sign(v)·a (s8) with vpmaddubsw,
/// pairs summed with vpmaddwd. Each weight block is unpacked once and applied to every activation row; the
/// 512-bit path takes two blocks per register and the activation rows four at a time, accumulators in registers.
/// A row's result never depends on how many rows share the call.
/// </summary>
internal static unsafe class Block32Dot<TBlock> where TBlock : IBlock32
{
    const int Block = 32, RowChunk = 16, RowGroup = 4;

    /// <summary>
    /// y[c·ldy + n] = W[n] · X[c] for weight rows n in [row0, row1) (rowBytes apart from w) and c in [0, T);
    /// bias: the activations' −128·Σa per block (<see cref="ActivationQ8"/>), read for the offset term.
    /// </summary>
    public static void Rows(byte* w, long rowBytes, int row0, int row1, in Int8Rows x, int* bias, float* y, int ldy, SimdLevel level)
    {
        if (level == SimdLevel.V512)
        {
            for (int c = 0; c < x.T; c += RowGroup)
                for (int n = row0; n < row1; n++)
                {
                    byte* row = w + n * rowBytes;
                    if (c == 0) Prefetch.Range(row, rowBytes);
                    RowGroupAvx512(row, x, bias, c, Math.Min(RowGroup, x.T - c), y + (long)c * ldy + n, ldy);
                }
            return;
        }
        for (int n = row0; n < row1; n++)
        {
            byte* row = w + n * rowBytes;
            Prefetch.Range(row, rowBytes);
            if (level == SimdLevel.V256) RowAvx2(row, x, bias, y + n, ldy);
            else RowScalar(row, x, bias, y + n, ldy);
        }
    }

    static void RowScalar(byte* row, in Int8Rows x, int* bias, float* y, int ldy)
    {
        int blocks = x.K / Block;
        for (int c = 0; c < x.T; c++)
        {
            float total = 0;
            for (int b = 0; b < blocks; b++) total += BlockDot(row + b * TBlock.Bytes, x, bias, c, b);
            y[(long)c * ldy] = total;
        }
    }

    /// <summary>Weight block b against block b of activation row c, scalar.</summary>
    static float BlockDot(byte* block, in Int8Rows x, int* bias, int c, int b)
    {
        sbyte* v = stackalloc sbyte[Block];
        TBlock.Values(block, v);
        long i = (long)c * (x.K / Block) + b;
        sbyte* a = x.Q + i * Block;
        int dot = 0;
        for (int j = 0; j < Block; j++) dot += v[j] * a[j];
        float da = x.Scale[i];
        float result = TBlock.D(block) * da * dot;
        return TBlock.HasMin ? result + TBlock.M(block) * da * SumOf(bias[i]) : result;
    }

    /// <summary>Σa of an activation block from its bias −128·Σa.</summary>
    static int SumOf(int bias) => bias / -128;

    static void RowAvx2(byte* row, in Int8Rows x, int* bias, float* y, int ldy)
    {
        int blocks = x.K / Block;
        Vector256<float>* acc = stackalloc Vector256<float>[RowChunk];
        float* offsets = stackalloc float[RowChunk];
        Vector256<short> ones = Vector256.Create((short)1);
        for (int c0 = 0; c0 < x.T; c0 += RowChunk)
        {
            int c1 = Math.Min(x.T, c0 + RowChunk);
            for (int c = c0; c < c1; c++)
            {
                acc[c - c0] = Vector256<float>.Zero;
                offsets[c - c0] = 0;
            }
            for (int b = 0; b < blocks; b++)
            {
                byte* block = row + b * TBlock.Bytes;
                Vector256<sbyte> v = TBlock.Unpack(block);
                Vector256<byte> va = Avx2.Abs(v);
                float d = TBlock.D(block), m = TBlock.M(block);
                for (int c = c0; c < c1; c++)
                {
                    long i = (long)c * blocks + b;
                    // |v| ≤ 127 and |a| ≤ 127: the int16 pair sums cannot saturate.
                    Vector256<sbyte> a = Avx2.Sign(Vector256.Load(x.Q + i * Block), v);
                    Vector256<int> dot = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(va, a), ones);
                    acc[c - c0] = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Create(d * x.Scale[i]), acc[c - c0]);
                    if (TBlock.HasMin) offsets[c - c0] += m * x.Scale[i] * SumOf(bias[i]);
                }
            }
            for (int c = c0; c < c1; c++) y[(long)c * ldy] = Vector256.Sum(acc[c - c0]) + offsets[c - c0];
        }
    }

    /// <summary>Two consecutive blocks unpacked into registers: |v|, where v &lt; 0, their scales and offsets.</summary>
    struct Pair
    {
        public Vector512<byte> Abs;
        public Vector512<sbyte> Negative;
        public Vector512<float> Scale;
        public float M0, M1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void UnpackPair(byte* block, out Pair u)
    {
        Vector512<sbyte> v = Vector512.Create(TBlock.Unpack(block), TBlock.Unpack(block + TBlock.Bytes));
        u.Abs = Avx512BW.Abs(v);
        u.Negative = Vector512.LessThan(v, Vector512<sbyte>.Zero);
        u.Scale = Vector512.Create(Vector256.Create(TBlock.D(block)), Vector256.Create(TBlock.D(block + TBlock.Bytes)));
        u.M0 = TBlock.HasMin ? TBlock.M(block) : 0;
        u.M1 = TBlock.HasMin ? TBlock.M(block + TBlock.Bytes) : 0;
    }

    /// <summary>acc + Σv·a over the pair, each block scaled by d·d_a; offset + m·d_a·Σa for both blocks.</summary>
    /// <param name="spread">Lane indices [0 ×8, 1 ×8]: the two activation scales over the 8 int32 lanes each block reduces to.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Step(in Pair u, sbyte* a, float* da, int* bias, Vector512<int> spread, Vector512<float> acc, ref float offset)
    {
        Vector512<sbyte> xs = Vector512.Load(a);
        xs = Vector512.ConditionalSelect(u.Negative, Vector512<sbyte>.Zero - xs, xs); // sign(v)·a, so |v|·that = v·a
        Vector512<int> dot = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Abs, xs), Vector512.Create((short)1));
        Vector512<float> scales = Avx512F.PermuteVar16x32(Vector128.CreateScalar(*(double*)da).AsSingle().ToVector256Unsafe().ToVector512Unsafe(), spread);
        if (TBlock.HasMin) offset += u.M0 * da[0] * SumOf(bias[0]) + u.M1 * da[1] * SumOf(bias[1]);
        return Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot), u.Scale * scales, acc);
    }

    /// <summary>y[i·ldy] = W_row · X[c + i] for i in [0, count), count ≤ 4: one pass over the weight row.</summary>
    static void RowGroupAvx512(byte* row, in Int8Rows x, int* bias, int c, int count, float* y, int ldy)
    {
        int blocks = x.K / Block;
        sbyte* q = x.Q + (long)c * x.K;
        float* da = x.Scale + (long)c * blocks;
        int* bs = bias + (long)c * blocks;
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float off0 = 0, off1 = 0, off2 = 0, off3 = 0;
        Vector512<int> spread = Vector512.Create(Vector256.Create(0), Vector256.Create(1));
        for (int p = 0; p < blocks / 2; p++)
        {
            UnpackPair(row + 2 * p * TBlock.Bytes, out Pair u);
            int o = 2 * p * Block;
            acc0 = Step(u, q + o, da + 2 * p, bs + 2 * p, spread, acc0, ref off0);
            if (count > 1) acc1 = Step(u, q + x.K + o, da + blocks + 2 * p, bs + blocks + 2 * p, spread, acc1, ref off1);
            if (count > 2) acc2 = Step(u, q + 2 * x.K + o, da + 2 * blocks + 2 * p, bs + 2 * blocks + 2 * p, spread, acc2, ref off2);
            if (count > 3) acc3 = Step(u, q + 3 * x.K + o, da + 3 * blocks + 2 * p, bs + 3 * blocks + 2 * p, spread, acc3, ref off3);
        }
        Finish(row, x, bias, c, acc0, off0, y);
        if (count > 1) Finish(row, x, bias, c + 1, acc1, off1, y + ldy);
        if (count > 2) Finish(row, x, bias, c + 2, acc2, off2, y + 2 * ldy);
        if (count > 3) Finish(row, x, bias, c + 3, acc3, off3, y + 3 * ldy);
    }

    /// <summary>*y = the accumulated pairs plus, for an odd block count, the last block.</summary>
    static void Finish(byte* row, in Int8Rows x, int* bias, int c, Vector512<float> acc, float offset, float* y)
    {
        int blocks = x.K / Block;
        float total = Vector512.Sum(acc) + offset;
        if (blocks % 2 != 0) total += BlockDot(row + (blocks - 1) * TBlock.Bytes, x, bias, c, blocks - 1);
        *y = total;
    }
}
