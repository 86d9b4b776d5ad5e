using SpecDec.Tensors;

namespace SpecDec.Kernels;

/// <summary>
/// Rotary position embeddings. Each head vector x of width d is rotated pairwise by angles pos·f_j:
/// Neox pairs (x_j, x_{j+d/2}) (Hugging Face rotate_half), Normal pairs (x_{2j}, x_{2j+1}) (GGUF llama).
/// Both are out_i = x_i·C_i + x_partner(i)·S_i with per-row tables C (cosines) and S (sines, negated on the
/// first member of each pair), built once per forward for the batch's positions and shared by all heads
/// and layers.
/// </summary>
public sealed unsafe class Rope
{
    readonly float[] _inverseFrequencies; // [d/2]

    /// <param name="attentionFactor">Multiplies every cosine and sine (LongRoPE's and YaRN's mscale); 1 for plain RoPE.</param>
    public Rope(int headDim, RopeStyle style, float[] inverseFrequencies, float attentionFactor = 1f)
    {
        if (headDim % 2 != 0) throw new ArgumentException($"head dimension {headDim} is odd");
        if (inverseFrequencies.Length != headDim / 2)
            throw new ArgumentException($"{inverseFrequencies.Length} frequencies for head dimension {headDim}");
        HeadDim = headDim;
        Style = style;
        _inverseFrequencies = inverseFrequencies;
        AttentionFactor = attentionFactor;
    }

    public float AttentionFactor { get; }

    public int HeadDim { get; }
    public RopeStyle Style { get; }
    public ReadOnlySpan<float> InverseFrequencies => _inverseFrequencies;

    /// <summary>C and S rows [positions.Length × d] for the given positions.</summary>
    public void Tables(ReadOnlySpan<int> positions, float* cos, float* sin)
    {
        int d = HeadDim, half = d / 2;
        for (int r = 0; r < positions.Length; r++)
        {
            float* c = cos + (long)r * d, s = sin + (long)r * d;
            for (int j = 0; j < half; j++)
            {
                float angle = positions[r] * _inverseFrequencies[j];
                float cj = MathF.Cos(angle) * AttentionFactor, sj = MathF.Sin(angle) * AttentionFactor;
                int first = Style == RopeStyle.Neox ? j : 2 * j, second = Style == RopeStyle.Neox ? j + half : 2 * j + 1;
                c[first] = cj;
                c[second] = cj;
                s[first] = -sj;
                s[second] = sj;
            }
        }
    }

    /// <summary>Rotates <paramref name="heads"/> consecutive head vectors at x by one row of tables.</summary>
    public void Apply(float* x, int heads, float* cos, float* sin, SimdLevel level)
    {
        for (int h = 0; h < heads; h++)
        {
            float* v = x + (long)h * HeadDim;
            switch (level)
            {
                case SimdLevel.V512: Rotate<Float512>(v, cos, sin); break;
                case SimdLevel.V256: Rotate<Float256>(v, cos, sin); break;
                default: RotateScalar(v, cos, sin, 0); break;
            }
        }
    }

    /// <summary>Rotates pairs from <paramref name="start"/> on (Neox: j in [start, d/2); Normal: i in [start, d)).</summary>
    void RotateScalar(float* v, float* c, float* s, int start)
    {
        int d = HeadDim, half = d / 2;
        if (Style == RopeStyle.Neox)
            for (int j = start; j < half; j++)
            {
                float a = v[j], b = v[j + half];
                v[j] = a * c[j] + b * s[j];
                v[j + half] = b * c[j + half] + a * s[j + half];
            }
        else
            for (int i = start; i < d; i += 2)
            {
                float a = v[i], b = v[i + 1];
                v[i] = a * c[i] + b * s[i];
                v[i + 1] = b * c[i + 1] + a * s[i + 1];
            }
    }

    void Rotate<TVec>(float* v, float* c, float* s) where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width, half = HeadDim / 2, i = 0;
        if (Style == RopeStyle.Neox)
        {
            for (; i + w <= half; i += w)
            {
                TVec a = TVec.Load(v + i), b = TVec.Load(v + i + half);
                TVec.Store(TVec.MulAdd(a, TVec.Load(c + i), TVec.Mul(b, TVec.Load(s + i))), v + i);
                TVec.Store(TVec.MulAdd(b, TVec.Load(c + i + half), TVec.Mul(a, TVec.Load(s + i + half))), v + i + half);
            }
        }
        else
        {
            for (; i + w <= HeadDim; i += w)
            {
                TVec a = TVec.Load(v + i);
                TVec.Store(TVec.MulAdd(a, TVec.Load(c + i), TVec.Mul(TVec.SwapPairs(a), TVec.Load(s + i))), v + i);
            }
        }
        RotateScalar(v, c, s, i);
    }
}
