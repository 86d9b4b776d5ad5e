using SpecDec.Formats;

namespace SpecDec.Tools.Conversion;

/// <summary>general.file_type values (llama.cpp's enum llama_ftype) for the types convert writes.</summary>
public static class GgufFileType
{
    public static uint Of(GgmlType mostly) => mostly switch
    {
        GgmlType.F32 => 0,   // LLAMA_FTYPE_ALL_F32
        GgmlType.F16 => 1,   // LLAMA_FTYPE_MOSTLY_F16
        GgmlType.Q8_0 => 7,  // LLAMA_FTYPE_MOSTLY_Q8_0
        GgmlType.BF16 => 32, // LLAMA_FTYPE_MOSTLY_BF16
        _ => throw new ArgumentOutOfRangeException(nameof(mostly), mostly, "no file type for it"),
    };
}
