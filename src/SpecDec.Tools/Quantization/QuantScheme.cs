namespace SpecDec.Tools.Quantization;

/// <summary>
/// What `specdec quantize` and `specdec synth` write: one weight type for every matrix, or one of llama.cpp's
/// mixes (Q2_K, Q3_K_S/M/L, Q4_K_S/M, Q5_K_S/M, Q6_K, IQ4_XS: a base type with more bits where quantization
/// hurts most, see <see cref="QuantPlan"/>).
/// </summary>
public enum QuantScheme
{
    F32,
    F16,
    BF16,
    Q8_0,
    Q4_0,
    Q4_K,
    Q6_K,
    Q4_K_M,
    Q4_1,
    Q5_0,
    Q5_1,
    IQ4_NL,
    MXFP4,
    Q2_K,
    Q3_K_S,
    Q3_K_M,
    Q3_K_L,
    Q4_K_S,
    Q5_K_S,
    Q5_K_M,
    IQ4_XS,
}
