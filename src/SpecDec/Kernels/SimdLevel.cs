using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels;

/// <summary>
/// Which code path a kernel runs. Every kernel has a Scalar reference; V256 needs AVX2+FMA (x86) and
/// V512 AVX-512 F+BW. Tests run each level this CPU supports against Scalar.
/// </summary>
public enum SimdLevel
{
    Scalar,
    V256,
    V512,
}

/// <summary>What this CPU supports.</summary>
public static class Simd
{
    /// <summary>The fastest level this CPU runs.</summary>
    public static SimdLevel Best { get; } =
        IsSupported(SimdLevel.V512) ? SimdLevel.V512 : IsSupported(SimdLevel.V256) ? SimdLevel.V256 : SimdLevel.Scalar;

    public static bool IsSupported(SimdLevel level) => level switch
    {
        SimdLevel.Scalar => true,
        SimdLevel.V256 => Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated,
        SimdLevel.V512 => Avx512F.IsSupported && Avx512BW.IsSupported && Vector512.IsHardwareAccelerated
                          && IsSupported(SimdLevel.V256),
        _ => false,
    };

    /// <summary>Levels this CPU runs, Scalar first.</summary>
    public static IEnumerable<SimdLevel> Supported()
    {
        foreach (SimdLevel level in Enum.GetValues<SimdLevel>())
            if (IsSupported(level)) yield return level;
    }
}
