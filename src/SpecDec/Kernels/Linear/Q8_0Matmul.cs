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
/// A row's fp16 block scales are first converted into scratch by table lookups (a gather over a row not yet
/// in cache waits for its misses one by one); then each weight block is loaded once and applied to four
/// activation rows at a time.
/// </summary>
internal static unsafe class Q8_0Matmul
{
    const int BlockBytes = BlockQ8_0.Bytes;
    const int BlockSize = BlockQ8_0.Size;

    /// <param name="scratch">At least Columns/32 floats of this thread's scratch.</param>
    public static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, float* scratch, SimdLevel level)
    {
        int blocks = w.Columns / BlockSize;
        for (int n = row0; n < row1; n++)
        {
            if (level == SimdLevel.Scalar)
                RowScalar(w.Row(n), blocks, x.Q8, x.Q8Scale, x.K, x.T, y + n, w.Rows);
            else
            {
                Scales(w.Row(n), blocks, scratch);
                RowAvx2(w.Row(n), scratch, blocks, x.Q8, x.Q8Scale, x.K, x.T, y + n, w.Rows);
            }
        }
    }

    /// <summary>y[c·ldy] = Σ_b d_w[b]·d_x[c,b]·Σ_i w[b,i]·q[c,b,i] for the T activation rows c.</summary>
    static void RowScalar(byte* row, int blocks, sbyte* q8, float* q8Scale, int k, int t, float* y, int ldy)
    {
        for (int c = 0; c < t; c++)
        {
            sbyte* q = q8 + (long)c * k;
            float* d = q8Scale + (long)c * blocks;
            float sum = 0;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = row + b * BlockBytes;
                var wq = (sbyte*)(block + 2);
                int dot = 0;
                for (int i = 0; i < BlockSize; i++) dot += wq[i] * q[b * BlockSize + i];
                sum += (float)BitConverter.UInt16BitsToHalf(*(ushort*)block) * d[b] * dot;
            }
            y[(long)c * ldy] = sum;
        }
    }

    /// <summary>dw[b] = the fp16 scale of block b, through a 65536-entry table (ggml's approach without F16C).</summary>
    static void Scales(byte* row, int blocks, float* dw)
    {
        float* table = HalfTable.Pointer;
        for (int b = 0; b < blocks; b++) dw[b] = table[*(ushort*)(row + b * BlockBytes)];
    }

    static void RowAvx2(byte* row, float* dw, int blocks, sbyte* q8, float* q8Scale, int k, int t, float* y, int ldy)
    {
        int c = 0;
        for (; c + 4 <= t; c += 4)
        {
            sbyte* q0 = q8 + (long)c * k, q1 = q0 + k, q2 = q1 + k, q3 = q2 + k;
            float* d0 = q8Scale + (long)c * blocks, d1 = d0 + blocks, d2 = d1 + blocks, d3 = d2 + blocks;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int b = 0; b < blocks; b++)
            {
                Vector256<sbyte> wq = Vector256.Load((sbyte*)(row + b * BlockBytes + 2));
                Vector256<byte> wa = Avx2.Abs(wq);
                Vector256<float> scale = Vector256.Create(dw[b]);
                int o = b * BlockSize;
                a0 = Vector256.FusedMultiplyAdd(BlockDot(wa, wq, q0 + o), scale * Vector256.Create(d0[b]), a0);
                a1 = Vector256.FusedMultiplyAdd(BlockDot(wa, wq, q1 + o), scale * Vector256.Create(d1[b]), a1);
                a2 = Vector256.FusedMultiplyAdd(BlockDot(wa, wq, q2 + o), scale * Vector256.Create(d2[b]), a2);
                a3 = Vector256.FusedMultiplyAdd(BlockDot(wa, wq, q3 + o), scale * Vector256.Create(d3[b]), a3);
            }
            y[(long)c * ldy] = Vector256.Sum(a0);
            y[(long)(c + 1) * ldy] = Vector256.Sum(a1);
            y[(long)(c + 2) * ldy] = Vector256.Sum(a2);
            y[(long)(c + 3) * ldy] = Vector256.Sum(a3);
        }
        for (; c < t; c++)
        {
            sbyte* q = q8 + (long)c * k;
            float* d = q8Scale + (long)c * blocks;
            // Two accumulators over alternate blocks halve the FMA dependency chain.
            Vector256<float> a0 = default, a1 = default;
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                Vector256<sbyte> w0 = Vector256.Load((sbyte*)(row + b * BlockBytes + 2));
                Vector256<sbyte> w1 = Vector256.Load((sbyte*)(row + (b + 1) * BlockBytes + 2));
                a0 = Vector256.FusedMultiplyAdd(BlockDot(Avx2.Abs(w0), w0, q + b * BlockSize), Vector256.Create(dw[b] * d[b]), a0);
                a1 = Vector256.FusedMultiplyAdd(BlockDot(Avx2.Abs(w1), w1, q + (b + 1) * BlockSize),
                    Vector256.Create(dw[b + 1] * d[b + 1]), a1);
            }
            if (b < blocks)
            {
                Vector256<sbyte> w0 = Vector256.Load((sbyte*)(row + b * BlockBytes + 2));
                a0 = Vector256.FusedMultiplyAdd(BlockDot(Avx2.Abs(w0), w0, q + b * BlockSize), Vector256.Create(dw[b] * d[b]), a0);
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
}
