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

/// <summary>What this CPU supports, capped by the <see cref="KernelPaths.Setting"/> that forces a kernel path.</summary>
public static class Simd
{
    /// <summary>The fastest level that runs: the one of <see cref="KernelPaths.Best"/>.</summary>
    public static SimdLevel Best { get; } = KernelPaths.Level(KernelPaths.Best);

    /// <summary>Whether kernels run at <paramref name="level"/> here: the CPU has it and no forced path rules it out.</summary>
    public static bool IsSupported(SimdLevel level) => level <= Best;

    /// <summary>Whether the CPU (and .NET's own switches, e.g. DOTNET_EnableAVX512=0) allow <paramref name="level"/>.</summary>
    internal static bool CpuSupports(SimdLevel level) => level switch
    {
        SimdLevel.Scalar => true,
        SimdLevel.V256 => Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated,
        SimdLevel.V512 => Avx512F.IsSupported && Avx512BW.IsSupported && Vector512.IsHardwareAccelerated
                          && CpuSupports(SimdLevel.V256),
        _ => false,
    };

    /// <summary>Levels that run here, Scalar first.</summary>
    public static IEnumerable<SimdLevel> Supported()
    {
        foreach (SimdLevel level in Enum.GetValues<SimdLevel>())
            if (IsSupported(level)) yield return level;
    }
}
