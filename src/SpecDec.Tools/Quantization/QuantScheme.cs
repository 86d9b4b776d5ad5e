namespace SpecDec.Tools.Quantization;

/// <summary>
/// What `specdec quantize` and `specdec synth` write: one weight type for every matrix, or Q4_K_M, llama.cpp's
/// mix of Q4_K with Q6_K where quantization hurts most (see <see cref="QuantPlan"/>).
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
}
