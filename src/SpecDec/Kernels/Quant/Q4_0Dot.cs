using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// Dot products of Q4_0 weight rows with Q8_0-style activation rows (int8 blocks of 32 with f32 scales,
/// <see cref="ActivationQ8"/>), as llama.cpp's ggml_vec_dot_q4_0_q8_0: per block, Σ (q − 8)·a in int32,
/// scaled by d_w·d_a. SIMD: |w| (u8) times sign(w)·a (s8) with vpmaddubsw, pairs summed with vpmaddwd.
/// Each weight block is unpacked once and applied to every activation row; the 512-bit path takes two
/// blocks per register and takes the activation rows four at a time, accumulators in registers.
/// </summary>
public static unsafe class Q4_0Dot
{
    const int RowChunk = 16, RowGroup = 4;

    /// <summary>y[c·ldy + n] = W[n] · X[c] for weight rows n in [row0, row1) (rowBytes apart from w) and c in [0, T).</summary>
    public static void Rows(byte* w, long rowBytes, int row0, int row1, in Int8Rows x, float* y, int ldy, SimdLevel level)
    {
        if (level == SimdLevel.V512)
        {
            // Unpacking a pair of blocks is cheap next to the stores and reloads of stack accumulators, so every
            // batch goes four activation rows at a time (outermost, so those rows stay in L1).
            for (int c = 0; c < x.T; c += RowGroup)
                for (int n = row0; n < row1; n++)
                    RowGroupAvx512(w + n * rowBytes, x, c, Math.Min(RowGroup, x.T - c), y + (long)c * ldy + n, ldy);
            return;
        }
        for (int n = row0; n < row1; n++)
        {
            byte* row = w + n * rowBytes;
            switch (level)
            {
                case SimdLevel.V256: RowAvx2(row, x, y + n, ldy); break;
                default: RowScalar(row, x, y + n, ldy); break;
            }
        }
    }

    static void RowScalar(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ4_0.Size;
        for (int c = 0; c < x.T; c++)
        {
            float total = 0;
            for (int b = 0; b < blocks; b++) total += BlockDot(row + b * BlockQ4_0.Bytes, x, c, b);
            y[(long)c * ldy] = total;
        }
    }

    /// <summary>Weight block b against block b of activation row c.</summary>
    static float BlockDot(byte* block, in Int8Rows x, int c, int b)
    {
        sbyte* a = x.Q + (long)c * x.K + b * BlockQ4_0.Size;
        int dot = 0;
        for (int j = 0; j < BlockQ4_0.Size / 2; j++)
            dot += ((block[2 + j] & 0xF) - 8) * a[j] + ((block[2 + j] >> 4) - 8) * a[j + 16];
        return QuantFormat.HalfAt(block) * x.Scale[(long)c * (x.K / BlockQ4_0.Size) + b] * dot;
    }

    /// <summary>The 32 quants of a block minus 8, in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<sbyte> Unpack(byte* block)
    {
        Vector128<byte> qs = Vector128.Load(block + 2);
        Vector256<byte> q = Vector256.Create(qs, Vector128.ShiftRightLogical(qs.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);
        return q.AsSByte() - Vector256.Create((sbyte)8);
    }

    static void RowAvx2(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ4_0.Size;
        Vector256<float>* acc = stackalloc Vector256<float>[RowChunk];
        Vector256<short> ones = Vector256.Create((short)1);
        for (int c0 = 0; c0 < x.T; c0 += RowChunk)
        {
            int c1 = Math.Min(x.T, c0 + RowChunk);
            for (int c = c0; c < c1; c++) acc[c - c0] = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = row + b * BlockQ4_0.Bytes;
                Vector256<sbyte> w = Unpack(block);
                Vector256<byte> wa = Avx2.Abs(w);
                float d = QuantFormat.HalfAt(block);
                for (int c = c0; c < c1; c++)
                {
                    // |w| ≤ 8 and |a| ≤ 127: the int16 pair sums cannot saturate.
                    Vector256<sbyte> a = Avx2.Sign(Vector256.Load(x.Q + (long)c * x.K + b * BlockQ4_0.Size), w);
                    Vector256<int> dot = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(wa, a), ones);
                    acc[c - c0] = Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(dot),
                        Vector256.Create(d * x.Scale[(long)c * blocks + b]), acc[c - c0]);
                }
            }
            for (int c = c0; c < c1; c++) y[(long)c * ldy] = Vector256.Sum(acc[c - c0]);
        }
    }

    /// <summary>Two consecutive blocks unpacked into registers: |w|, where w &lt; 0, and the scales spread per block.</summary>
    struct Pair
    {
        public Vector512<byte> Abs;
        public Vector512<sbyte> Negative;
        public Vector512<float> Scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void UnpackPair(byte* block, out Pair u)
    {
        Vector512<sbyte> w = Vector512.Create(Unpack(block), Unpack(block + BlockQ4_0.Bytes));
        u.Abs = Avx512BW.Abs(w);
        u.Negative = Vector512.LessThan(w, Vector512<sbyte>.Zero);
        u.Scale = Vector512.Create(Vector256.Create(QuantFormat.HalfAt(block)), Vector256.Create(QuantFormat.HalfAt(block + BlockQ4_0.Bytes)));
    }

    /// <summary>acc + Σ w·a over the pair, per block scaled by d_w·d_a (da: the two activation block scales).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    /// <param name="spread">Lane indices [0 ×8, 1 ×8]: the two activation scales over the 8 int32 lanes each block reduces to.</param>
    static Vector512<float> Step(in Pair u, sbyte* a, float* da, Vector512<int> spread, Vector512<float> acc)
    {
        Vector512<sbyte> xs = Vector512.Load(a);
        xs = Vector512.ConditionalSelect(u.Negative, Vector512<sbyte>.Zero - xs, xs); // sign(w)·a, so |w|·that = w·a
        // |w| ≤ 8 and |a| ≤ 127: the int16 pair sums cannot saturate.
        Vector512<int> dot = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u.Abs, xs), Vector512.Create((short)1));
        Vector512<float> scales = Avx512F.PermuteVar16x32(Vector128.CreateScalar(*(double*)da).AsSingle().ToVector256Unsafe().ToVector512Unsafe(), spread);
        return Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot), u.Scale * scales, acc);
    }

    /// <summary>
    /// y[i·ldy] = W_row · X[c + i] for i in [0, count), count ≤ 4: one pass over the weight row, accumulators in
    /// registers (so consecutive blocks overlap instead of waiting on stores and reloads).
    /// </summary>
    static void RowGroupAvx512(byte* row, in Int8Rows x, int c, int count, float* y, int ldy)
    {
        int blocks = x.K / BlockQ4_0.Size;
        sbyte* q = x.Q + (long)c * x.K;
        float* da = x.Scale + (long)c * blocks;
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector512<int> spread = Spread();
        for (int p = 0; p < blocks / 2; p++)
        {
            UnpackPair(row + 2 * p * BlockQ4_0.Bytes, out Pair u);
            int o = 2 * p * BlockQ4_0.Size;
            acc0 = Step(u, q + o, da + 2 * p, spread, acc0);
            if (count > 1) acc1 = Step(u, q + x.K + o, da + blocks + 2 * p, spread, acc1);
            if (count > 2) acc2 = Step(u, q + 2 * x.K + o, da + 2 * blocks + 2 * p, spread, acc2);
            if (count > 3) acc3 = Step(u, q + 3 * x.K + o, da + 3 * blocks + 2 * p, spread, acc3);
        }
        Finish(row, x, c, acc0, y);
        if (count > 1) Finish(row, x, c + 1, acc1, y + ldy);
        if (count > 2) Finish(row, x, c + 2, acc2, y + 2 * ldy);
        if (count > 3) Finish(row, x, c + 3, acc3, y + 3 * ldy);
    }

    static Vector512<int> Spread() => Vector512.Create(Vector256.Create(0), Vector256.Create(1));

    /// <summary>*y = the accumulated pairs plus, for an odd block count, the last block.</summary>
    static void Finish(byte* row, in Int8Rows x, int c, Vector512<float> acc, float* y)
    {
        int blocks = x.K / BlockQ4_0.Size;
        float total = Vector512.Sum(acc);
        if (blocks % 2 != 0) total += BlockDot(row + (blocks - 1) * BlockQ4_0.Bytes, x, c, blocks - 1);
        *y = total;
    }
}
