namespace SpecDec.Model;

/// <summary>
/// Llama-3.1-style frequency scaling (`rope_scaling.rope_type == "llama3"`): wavelengths longer than
/// OriginalContextLength / LowFreqFactor are divided by Factor, shorter than OriginalContextLength /
/// HighFreqFactor are kept, and the band between is interpolated smoothly.
/// </summary>
public sealed record RopeScaling(float Factor, float LowFreqFactor, float HighFreqFactor, int OriginalContextLength);
