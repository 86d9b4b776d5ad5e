using SpecDec.Formats;
using SpecDec.Tensors;

namespace SpecDec.Tools.Conversion;

/// <summary>general.file_type values (llama.cpp's enum llama_ftype) for files whose matrices are mostly one type.</summary>
public static class GgufFileType
{
    public static uint Of(GgmlType mostly) => mostly switch
    {
        GgmlType.F32 => 0,   // LLAMA_FTYPE_ALL_F32
        GgmlType.F16 => 1,   // LLAMA_FTYPE_MOSTLY_F16
        GgmlType.Q4_0 => 2,  // LLAMA_FTYPE_MOSTLY_Q4_0
        GgmlType.Q4_1 => 3,  // LLAMA_FTYPE_MOSTLY_Q4_1
        GgmlType.Q8_0 => 7,  // LLAMA_FTYPE_MOSTLY_Q8_0
        GgmlType.Q5_0 => 8,  // LLAMA_FTYPE_MOSTLY_Q5_0
        GgmlType.Q5_1 => 9,  // LLAMA_FTYPE_MOSTLY_Q5_1
        GgmlType.Q2_K => 10, // LLAMA_FTYPE_MOSTLY_Q2_K
        GgmlType.Q3_K => 11, // LLAMA_FTYPE_MOSTLY_Q3_K_S
        GgmlType.Q4_K => 14, // LLAMA_FTYPE_MOSTLY_Q4_K_S
        GgmlType.Q5_K => 16, // LLAMA_FTYPE_MOSTLY_Q5_K_S
        GgmlType.Q6_K => 18, // LLAMA_FTYPE_MOSTLY_Q6_K
        GgmlType.IQ4_NL => 25, // LLAMA_FTYPE_MOSTLY_IQ4_NL
        GgmlType.IQ4_XS => 30, // LLAMA_FTYPE_MOSTLY_IQ4_XS
        GgmlType.MXFP4 => 38, // LLAMA_FTYPE_MOSTLY_MXFP4_MOE
        GgmlType.BF16 => 32, // LLAMA_FTYPE_MOSTLY_BF16
        _ => throw new ArgumentOutOfRangeException(nameof(mostly), mostly, "no file type for it"),
    };

    /// <summary>LLAMA_FTYPE_MOSTLY_Q4_K_M: Q4_K with Q6_K where quantization hurts most.</summary>
    public const uint Q4_K_M = 15;
}
