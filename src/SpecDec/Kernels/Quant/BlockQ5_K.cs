using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels.Quant;

/// <summary>
/// GGUF Q5_K: super-blocks of 256 values in 176 bytes: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins
/// packed as <see cref="BlockQ4_K"/>'s, 32 bytes qh, 128 bytes of low nibbles as Q4_K's; x = d·sc_j·q − dmin·m_j
/// for sub-block j of 32, where q's fifth bit is bit j of qh[l] for element l of the sub-block. Quantized as
/// ggml's quantize_row_q5_K_ref.
/// </summary>
public readonly unsafe struct BlockQ5_K : ISuperBlock
{
    public const int Size = 256;
    public const int Bytes = 176;
    internal const int DOffset = 0, DMinOffset = 2, ScalesOffset = 4, QhOffset = 16, QsOffset = 48;

    static int ISuperBlock.Bytes => Bytes;
    static bool ISuperBlock.Signed => false;
    static bool ISuperBlock.HasMins => true;

    /// <summary>Element i's 5-bit quant.</summary>
    internal static int Quant(byte* block, int i)
    {
        int j = i / 32, l = i % 32;
        int low = (block[QsOffset + 32 * (j / 2) + l] >> (4 * (j & 1))) & 0xF;
        return low | ((block[QhOffset + l] >> j) & 1) << 4;
    }

    static void ISuperBlock.Ints(byte* block, sbyte* v, short* scales, short* mins, out float d, out float dmin)
    {
        for (int i = 0; i < Size; i++) v[i] = (sbyte)Quant(block, i);
        var packed = new ReadOnlySpan<byte>(block + ScalesOffset, 12);
        for (int j = 0; j < 8; j++)
        {
            (int sc, int m) = BlockQ4_K.ScaleMin(packed, j);
            scales[2 * j] = scales[2 * j + 1] = (short)sc;
            mins[2 * j] = mins[2 * j + 1] = (short)m;
        }
        d = QuantFormat.HalfAt(block + DOffset);
        dmin = QuantFormat.HalfAt(block + DMinOffset);
    }

    static void ISuperBlock.Unpack(byte* block, out SuperBlock u)
    {
        Vector256<byte> nibble = Vector256.Create((byte)0x0F);
        Vector256<ushort> qh = Vector256.Load(block + QhOffset).AsUInt16();
        u.Q0 = Group(block + QsOffset, qh, 0, nibble);
        u.Q1 = Group(block + QsOffset + 32, qh, 2, nibble);
        u.Q2 = Group(block + QsOffset + 64, qh, 4, nibble);
        u.Q3 = Group(block + QsOffset + 96, qh, 6, nibble);
        Vector128<byte> sm = Q4_KDot.ScalesAndMins(block + ScalesOffset); // [sc0..sc7, m0..m7]
        u.Scales = Avx2.ConvertToVector256Int16(Sse2.UnpackLow(sm, sm));
        u.Mins = Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(sm, sm));
        u.D = QuantFormat.HalfAt(block + DOffset);
        u.DMin = QuantFormat.HalfAt(block + DMinOffset);
    }

    /// <summary>Sub-blocks j and j + 1: the low and high nibbles of 32 bytes, fifth bits j and j + 1 of qh.</summary>
    static Vector512<sbyte> Group(byte* qs, Vector256<ushort> qh, int j, Vector256<byte> nibble)
    {
        Vector256<byte> q = Vector256.Load(qs), one = Vector256.Create((byte)1);
        Vector256<byte> lo = (q & nibble) | ((Vector256.ShiftRightLogical(qh, j).AsByte() & one) << 4);
        Vector256<byte> hi = (Vector256.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & nibble)
                           | ((Vector256.ShiftRightLogical(qh, j + 1).AsByte() & one) << 4);
        return Vector512.Create(lo, hi).AsSByte();
    }

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        QuantFormat.CheckQuantize(src.Length, dst.Length, Size, Bytes, "Q5_K");
        Span<byte> levels = stackalloc byte[Size];
        Span<byte> trial = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        Span<float> scales = stackalloc float[8];
        Span<float> mins = stackalloc float[8];
        for (int b = 0; b < src.Length / Size; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * Size, Size);
            Span<byte> block = dst.Slice(b * Bytes, Bytes);
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; j++)
            {
                ReadOnlySpan<float> xs = x.Slice(32 * j, 32);
                float sumX2 = 0;
                foreach (float v in xs) sumX2 += v * v;
                float rms = MathF.Sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) weights[l] = rms + MathF.Abs(xs[l]);
                scales[j] = KQuantSearch.AffineScale(xs, weights, 31, levels.Slice(32 * j, 32), trial, out mins[j], -0.5f, 0.1f, 15);
                maxScale = MathF.Max(maxScale, scales[j]);
                maxMin = MathF.Max(maxMin, mins[j]);
            }
            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            Span<byte> packed = block.Slice(ScalesOffset, 12);
            packed.Clear();
            for (int j = 0; j < 8; j++)
                BlockQ4_K.PackScaleMin(packed, j, Math.Min(63, (int)(byte)QuantFormat.NearestInt(invScale * scales[j])),
                    Math.Min(63, (int)(byte)QuantFormat.NearestInt(invMin * mins[j])));
            Half d = (Half)(maxScale / 63f), dmin = (Half)(maxMin / 63f);
            MemoryMarshal.Write(block.Slice(DOffset), d);
            MemoryMarshal.Write(block.Slice(DMinOffset), dmin);
            for (int j = 0; j < 8; j++)
            {
                (int sc, int m) = BlockQ4_K.ScaleMin(packed, j);
                float dj = (float)d * sc;
                if (dj == 0) continue;
                float mj = (float)dmin * m;
                for (int i = 0; i < 32; i++)
                    levels[32 * j + i] = (byte)Math.Clamp(QuantFormat.NearestInt((x[32 * j + i] + mj) / dj), 0, 31);
            }
            Span<byte> qh = block.Slice(QhOffset, 32), qs = block.Slice(QsOffset, 128);
            qh.Clear();
            for (int g = 0; g < 4; g++)
                for (int l = 0; l < 32; l++)
                {
                    int lo = levels[64 * g + l], hi = levels[64 * g + 32 + l];
                    qs[32 * g + l] = (byte)((lo & 0xF) | (hi & 0xF) << 4);
                    qh[l] |= (byte)((lo >> 4) << (2 * g) | (hi >> 4) << (2 * g + 1));
                }
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        QuantFormat.CheckDequantize(src.Length, dst.Length, Size, Bytes, "Q5_K");
        fixed (byte* s = src)
            for (int b = 0; b < dst.Length / Size; b++)
            {
                byte* block = s + b * Bytes;
                float d = QuantFormat.HalfAt(block + DOffset), dmin = QuantFormat.HalfAt(block + DMinOffset);
                var packed = new ReadOnlySpan<byte>(block + ScalesOffset, 12);
                for (int j = 0; j < 8; j++)
                {
                    (int sc, int m) = BlockQ4_K.ScaleMin(packed, j);
                    float dj = d * sc, mj = dmin * m;
                    for (int l = 0; l < 32; l++) dst[b * Size + 32 * j + l] = dj * Quant(block, 32 * j + l) - mj;
                }
            }
    }
}
