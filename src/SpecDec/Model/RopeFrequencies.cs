namespace SpecDec.Model;

/// <summary>
/// The inverse rotary frequencies f_j a model's config (and llama.cpp's optional rope_freqs.weight) implies;
/// the RoPE kernel takes them as plain numbers.
/// </summary>
public static class RopeFrequencies
{
    /// <summary>
    /// f_j = theta^(−2j/d), in f32 as transformers computes it; then llama3 scaling when the config has it,
    /// or division by llama.cpp's per-frequency factors (rope_freqs.weight) when given; then linear scaling.
    /// </summary>
    public static float[] Of(ModelConfig config, ReadOnlySpan<float> freqFactors = default)
    {
        int d = config.HeadDim;
        var f = new float[d / 2];
        for (int j = 0; j < f.Length; j++) f[j] = 1f / MathF.Pow(config.RopeTheta, 2 * j / (float)d);
        if (!freqFactors.IsEmpty)
        {
            if (freqFactors.Length != f.Length)
                throw new ArgumentException($"{freqFactors.Length} rope frequency factors for head dimension {d}");
            for (int j = 0; j < f.Length; j++) f[j] /= freqFactors[j];
        }
        else if (config.RopeScaling is { } s) ApplyLlama3(f, s);
        if (config.RopeLinearFactor != 1f)
            for (int j = 0; j < f.Length; j++) f[j] /= config.RopeLinearFactor;
        return f;
    }

    /// <summary>The sliding layers' frequencies: their own base (Gemma 3's local 10000), no scaling.</summary>
    public static float[] OfSliding(ModelConfig config) =>
        Of(config with { RopeTheta = config.SlidingRopeTheta ?? config.RopeTheta, RopeScaling = null, RopeLinearFactor = 1f });

    /// <summary>transformers' _compute_llama3_parameters, operation for operation in f32.</summary>
    public static void ApplyLlama3(Span<float> f, RopeScaling s)
    {
        float lowFreqWavelen = s.OriginalContextLength / s.LowFreqFactor;
        float highFreqWavelen = s.OriginalContextLength / s.HighFreqFactor;
        for (int j = 0; j < f.Length; j++)
        {
            float wavelen = (float)(2 * Math.PI) / f[j];
            float scaled = wavelen > lowFreqWavelen ? f[j] / s.Factor : f[j];
            if (!(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen))
            {
                float smooth = (s.OriginalContextLength / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                scaled = (1 - smooth) * scaled / s.Factor + smooth * scaled;
            }
            f[j] = scaled;
        }
    }
}
