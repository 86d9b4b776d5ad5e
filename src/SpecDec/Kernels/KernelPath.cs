using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels;

/// <summary>
/// The instruction class the int8 kernels of packed weights run (<see cref="Linear.PackedGroups"/>), in order
/// of preference: AVX-VNNI's vpdpbusd (256-bit VEX; .NET 10 exposes no AVX512-VNNI), AVX-512BW's
/// vpmaddubsw + vpmaddwd on 512 bits, the same pair on 256 bits (AVX2), or the scalar twins.
/// </summary>
public enum KernelPath
{
    Scalar,
    Avx2,
    Avx512BW,
    AvxVnni,
}

/// <summary>
/// The kernel path chosen at load from the CPU's features, which <see cref="Setting"/> can force down (to test or
/// measure another class on one machine): a forced path above what the CPU has is clamped to the best it has.
/// </summary>
public static class KernelPaths
{
    /// <summary>The environment variable that forces a path: scalar, avx2, avx512bw or avxvnni.</summary>
    public const string Setting = "SPECDEC_KERNELS";

    static readonly (KernelPath Path, string? Error) Chosen = Choose(Environment.GetEnvironmentVariable(Setting));

    /// <summary>The path kernels run here.</summary>
    public static KernelPath Best => Chosen.Path;

    /// <summary>An error line for a <see cref="Setting"/> value that names no path (the CLI stops on it), or null.</summary>
    public static string? SettingError => Chosen.Error;

    /// <summary>Whether <paramref name="path"/> runs here: the CPU has it and it is not above <see cref="Best"/>.</summary>
    public static bool IsSupported(KernelPath path) => path <= Best && CpuSupports(path);

    /// <summary>Paths that run here, Scalar first.</summary>
    public static IEnumerable<KernelPath> Supported()
    {
        foreach (KernelPath path in Enum.GetValues<KernelPath>())
            if (IsSupported(path)) yield return path;
    }

    /// <summary>The SIMD level the other kernels run at alongside <paramref name="path"/>.</summary>
    public static SimdLevel Level(KernelPath path) => path switch
    {
        KernelPath.Scalar => SimdLevel.Scalar,
        KernelPath.Avx2 => SimdLevel.V256,
        KernelPath.Avx512BW => SimdLevel.V512,
        _ => Simd.CpuSupports(SimdLevel.V512) ? SimdLevel.V512 : SimdLevel.V256,
    };

    /// <summary>The packed path a matmul at <paramref name="level"/> takes: the best one of that width or narrower (AVX-VNNI is 256-bit).</summary>
    public static KernelPath For(SimdLevel level) => level switch
    {
        SimdLevel.Scalar => KernelPath.Scalar,
        SimdLevel.V256 => Best == KernelPath.AvxVnni ? KernelPath.AvxVnni : KernelPath.Avx2,
        _ => Best,
    };

    /// <summary>The path's name as perf, bench and generate --stats print it.</summary>
    public static string Name(KernelPath path) => path switch
    {
        KernelPath.AvxVnni => "AVX-VNNI",
        KernelPath.Avx512BW => "AVX-512BW",
        KernelPath.Avx2 => "AVX2",
        _ => "scalar",
    };

    static bool CpuSupports(KernelPath path) => path switch
    {
        KernelPath.Scalar => true,
        KernelPath.Avx2 => Simd.CpuSupports(SimdLevel.V256),
        KernelPath.Avx512BW => Simd.CpuSupports(SimdLevel.V512),
        _ => AvxVnni.IsSupported && Simd.CpuSupports(SimdLevel.V256),
    };

    internal static (KernelPath Path, string? Error) Choose(string? setting)
    {
        KernelPath cap = KernelPath.AvxVnni;
        string? error = null;
        if (!string.IsNullOrWhiteSpace(setting))
        {
            if (Enum.TryParse(setting.Trim(), ignoreCase: true, out KernelPath forced) && Enum.IsDefined(forced)
                && !char.IsDigit(setting.Trim()[0]))
                cap = forced;
            else
                error = $"{Setting}={setting} names no kernel path; use scalar, avx2, avx512bw or avxvnni";
        }
        // The best path at or below the cap that the CPU has; below AVX-VNNI, AVX-512BW before AVX2.
        for (KernelPath p = cap; p > KernelPath.Scalar; p--)
            if (CpuSupports(p)) return (p, error);
        return (KernelPath.Scalar, error);
    }
}
