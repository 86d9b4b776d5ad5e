using SpecDec.Model;

namespace SpecDec.Tools.Conversion;

/// <summary>
/// The rope_freqs.weight tensor llama.cpp's converter writes for llama3 rope scaling: one divisor per
/// rotated pair, applied as freq_i / factor_i. Computed in float32 as the converter does (torch float32).
/// </summary>
/// <remarks>
/// The original context comes from rope_scaling.original_max_position_embeddings, as transformers reads
/// it. llama.cpp's converter reads a top-level key of that name (default 8192) instead; for every released
/// Llama 3.x both are 8192, but for other checkpoints only this choice reproduces the Hugging Face model.
/// </remarks>
public static class Llama3RopeFactors
{
    public static float[] Compute(int headDim, float ropeTheta, RopeScaling scaling)
    {
        float lowWavelen = scaling.OriginalContextLength / scaling.LowFreqFactor;
        float highWavelen = scaling.OriginalContextLength / scaling.HighFreqFactor;
        var factors = new float[headDim / 2];
        for (int i = 0; i < factors.Length; i++)
        {
            float freq = 1f / MathF.Pow(ropeTheta, (float)(2 * i) / headDim);
            float wavelen = 2 * MathF.PI / freq;
            if (wavelen < highWavelen) factors[i] = 1f;
            else if (wavelen > lowWavelen) factors[i] = scaling.Factor;
            else
            {
                float smooth = (scaling.OriginalContextLength / wavelen - scaling.LowFreqFactor) / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                factors[i] = 1f / ((1 - smooth) / scaling.Factor + smooth);
            }
        }
        return factors;
    }
}
