using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// Dot products of Q4_0 weight rows with Q8_0-style activation rows (int8 blocks of 32 with f32 scales,
/// the engine's ActivationQ8), as llama.cpp's ggml_vec_dot_q4_0_q8_0: per block, Σ (q − 8)·a in int32,
/// scaled by d_w·d_a. SIMD: |w| (u8) times sign(w)·a (s8) with vpmaddubsw, pairs summed with vpmaddwd.
/// Each weight block is unpacked once and applied to every activation row; the 512-bit path takes two
/// blocks per register.
/// </summary>
public static unsafe class Q4_0Dot
{
    const int RowChunk = 16;

    /// <summary>y[c·ldy + n] = W[n] · X[c] for weight rows n in [row0, row1) (rowBytes apart from w) and c in [0, T).</summary>
    public static void Rows(byte* w, long rowBytes, int row0, int row1, in Int8Rows x, float* y, int ldy, SimdLevel level)
    {
        for (int n = row0; n < row1; n++)
        {
            byte* row = w + n * rowBytes;
            switch (level)
            {
                case SimdLevel.V512: RowAvx512(row, x, y + n, ldy); break;
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

    static void RowAvx512(byte* row, in Int8Rows x, float* y, int ldy)
    {
        int blocks = x.K / BlockQ4_0.Size;
        int pairs = blocks / 2;
        Vector512<float>* acc = stackalloc Vector512<float>[RowChunk];
        Vector512<short> ones = Vector512.Create((short)1);
        // Spreads two floats over the 8 int32 lanes each block's 32 quants reduce to.
        Vector512<int> spread = Vector512.Create(Vector256.Create(0), Vector256.Create(1));
        for (int c0 = 0; c0 < x.T; c0 += RowChunk)
        {
            int c1 = Math.Min(x.T, c0 + RowChunk);
            for (int c = c0; c < c1; c++) acc[c - c0] = Vector512<float>.Zero;
            for (int p = 0; p < pairs; p++)
            {
                byte* block = row + 2 * p * BlockQ4_0.Bytes;
                Vector512<sbyte> w = Vector512.Create(Unpack(block), Unpack(block + BlockQ4_0.Bytes));
                Vector512<byte> wa = Avx512BW.Abs(w);
                Vector512<sbyte> negative = Vector512.LessThan(w, Vector512<sbyte>.Zero);
                Vector512<float> dw = Vector512.Create(Vector256.Create(QuantFormat.HalfAt(block)),
                                                       Vector256.Create(QuantFormat.HalfAt(block + BlockQ4_0.Bytes)));
                for (int c = c0; c < c1; c++)
                {
                    Vector512<sbyte> a = Vector512.Load(x.Q + (long)c * x.K + 2 * p * BlockQ4_0.Size);
                    a = Vector512.ConditionalSelect(negative, Vector512<sbyte>.Zero - a, a);
                    Vector512<int> dot = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(wa, a), ones);
                    Vector512<float> da = Avx512F.PermuteVar16x32(
                        Vector128.CreateScalar(*(double*)(x.Scale + (long)c * blocks + 2 * p)).AsSingle().ToVector256Unsafe().ToVector512Unsafe(), spread);
                    acc[c - c0] = Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot), dw * da, acc[c - c0]);
                }
            }
            for (int c = c0; c < c1; c++)
            {
                float total = Vector512.Sum(acc[c - c0]);
                if (blocks % 2 != 0) total += BlockDot(row + (blocks - 1) * BlockQ4_0.Bytes, x, c, blocks - 1);
                y[(long)c * ldy] = total;
            }
        }
    }
}
