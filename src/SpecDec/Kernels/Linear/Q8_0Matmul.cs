using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Matmul rows for Q8_0 weights against Q8 activations (<see cref="ActivationQ8"/>): integer dot products
/// per block of 32, scaled by d_w·d_x, as llama.cpp's ggml_vec_dot_q8_0_q8_0. SIMD: |w| (u8) times
/// sign(w)·x (s8) with vpmaddubsw + vpmaddwd, or one vpdpbusd where AVX-VNNI exists. (.NET 10 exposes no
/// AVX512-VNNI, and a Q8_0 block is 32 bytes, so the 256-bit path serves the V512 level too.)
/// Each weight block is loaded once and applied to four activation rows at a time.
/// </summary>
internal static unsafe class Q8_0Matmul
{
    const int BlockBytes = BlockQ8_0.Bytes;

    public static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, SimdLevel level)
    {
        int blocks = w.Columns / BlockQ8_0.Size;
        for (int n = row0; n < row1; n++)
        {
            if (level == SimdLevel.Scalar) RowScalar(w.Row(n), blocks, x, y + n, w.Rows);
            else RowAvx2(w.Row(n), blocks, x, y + n, w.Rows);
        }
    }

    static void RowScalar(byte* row, int blocks, in Activations x, float* y, int ldy)
    {
        for (int c = 0; c < x.T; c++)
        {
            sbyte* q = x.Q8 + (long)c * x.K;
            float* d = x.Q8Scale + (long)c * blocks;
            float sum = 0;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = row + b * BlockBytes;
                var wq = (sbyte*)(block + 2);
                int dot = 0;
                for (int i = 0; i < BlockQ8_0.Size; i++) dot += wq[i] * q[b * BlockQ8_0.Size + i];
                sum += Scale(block) * d[b] * dot;
            }
            y[(long)c * ldy] = sum;
        }
    }

    static void RowAvx2(byte* row, int blocks, in Activations x, float* y, int ldy)
    {
        int c = 0;
        for (; c + 4 <= x.T; c += 4)
        {
            sbyte* q0 = x.Q8 + (long)c * x.K, q1 = q0 + x.K, q2 = q1 + x.K, q3 = q2 + x.K;
            float* d0 = x.Q8Scale + (long)c * blocks, d1 = d0 + blocks, d2 = d1 + blocks, d3 = d2 + blocks;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = row + b * BlockBytes;
                Vector256<sbyte> wq = Vector256.Load((sbyte*)(block + 2));
                Vector256<byte> wa = Avx2.Abs(wq);
                Vector256<float> dw = Vector256.Create(Scale(block));
                int o = b * BlockQ8_0.Size;
                a0 = Vector256.FusedMultiplyAdd(BlockDot(wa, wq, q0 + o), dw * Vector256.Create(d0[b]), a0);
                a1 = Vector256.FusedMultiplyAdd(BlockDot(wa, wq, q1 + o), dw * Vector256.Create(d1[b]), a1);
                a2 = Vector256.FusedMultiplyAdd(BlockDot(wa, wq, q2 + o), dw * Vector256.Create(d2[b]), a2);
                a3 = Vector256.FusedMultiplyAdd(BlockDot(wa, wq, q3 + o), dw * Vector256.Create(d3[b]), a3);
            }
            y[(long)c * ldy] = Vector256.Sum(a0);
            y[(long)(c + 1) * ldy] = Vector256.Sum(a1);
            y[(long)(c + 2) * ldy] = Vector256.Sum(a2);
            y[(long)(c + 3) * ldy] = Vector256.Sum(a3);
        }
        for (; c < x.T; c++)
        {
            sbyte* q = x.Q8 + (long)c * x.K;
            float* d = x.Q8Scale + (long)c * blocks;
            // Two accumulators over alternate blocks halve the FMA dependency chain.
            Vector256<float> a0 = default, a1 = default;
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                byte* block = row + b * BlockBytes;
                Vector256<sbyte> w0 = Vector256.Load((sbyte*)(block + 2));
                Vector256<sbyte> w1 = Vector256.Load((sbyte*)(block + BlockBytes + 2));
                a0 = Vector256.FusedMultiplyAdd(BlockDot(Avx2.Abs(w0), w0, q + b * BlockQ8_0.Size),
                    Vector256.Create(Scale(block) * d[b]), a0);
                a1 = Vector256.FusedMultiplyAdd(BlockDot(Avx2.Abs(w1), w1, q + (b + 1) * BlockQ8_0.Size),
                    Vector256.Create(Scale(block + BlockBytes) * d[b + 1]), a1);
            }
            if (b < blocks)
            {
                byte* block = row + b * BlockBytes;
                Vector256<sbyte> w0 = Vector256.Load((sbyte*)(block + 2));
                a0 = Vector256.FusedMultiplyAdd(BlockDot(Avx2.Abs(w0), w0, q + b * BlockQ8_0.Size),
                    Vector256.Create(Scale(block) * d[b]), a0);
            }
            y[(long)c * ldy] = Vector256.Sum(a0 + a1);
        }
    }

    /// <summary>Σ w·x over one block of 32 as eight f32 partial sums; wa = |w|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> BlockDot(Vector256<byte> wa, Vector256<sbyte> w, sbyte* x)
    {
        Vector256<sbyte> xs = Avx2.Sign(Vector256.Load(x), w); // moves w's sign onto x, so |w|·(sign(w)·x) = w·x
        Vector256<int> dot = AvxVnni.IsSupported
            ? AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, wa, xs)
            // |w| ≤ 128 and |x| ≤ 127, so the pairwise int16 sums (≤ 32512) cannot saturate.
            : Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(wa, xs), Vector256.Create((short)1));
        return Avx.ConvertToVector256Single(dot);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Scale(byte* block) => (float)BitConverter.UInt16BitsToHalf(*(ushort*)block);
}
