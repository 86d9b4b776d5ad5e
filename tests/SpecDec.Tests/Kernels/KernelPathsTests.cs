using SpecDec.Kernels;

namespace SpecDec.Tests.Kernels;

public class KernelPathsTests
{
    [Theory]
    [InlineData("scalar", KernelPath.Scalar)]
    [InlineData("AVX2", KernelPath.Avx2)]
    [InlineData(" avx512bw ", KernelPath.Avx512BW)]
    [InlineData("avxvnni", KernelPath.AvxVnni)]
    public void A_forced_path_runs_as_itself_or_clamped_to_the_best_the_CPU_has_below_it(string setting, KernelPath forced)
    {
        var (path, error) = KernelPaths.Choose(setting);
        Assert.Null(error);
        Assert.True(path <= forced);
        KernelPath expected = Enum.GetValues<KernelPath>().Where(p => p <= forced && CpuHas(p)).Max();
        Assert.Equal(expected, path);
    }

    [Theory]
    [InlineData("avx9")]
    [InlineData("2")]
    public void A_setting_naming_no_path_is_an_error_that_names_the_variable_and_the_choices(string setting)
    {
        var (_, error) = KernelPaths.Choose(setting);
        Assert.Equal($"SPECDEC_KERNELS={setting} names no kernel path; use scalar, avx2, avx512bw or avxvnni", error);
    }

    [Fact]
    public void Unset_runs_the_best_the_CPU_has_and_every_supported_path_runs_at_its_level()
    {
        Assert.Equal((KernelPaths.Choose(null).Path, (string?)null), KernelPaths.Choose(""));
        foreach (KernelPath path in KernelPaths.Supported())
            Assert.True(Simd.IsSupported(KernelPaths.Level(path)), $"{path} at {KernelPaths.Level(path)}");
        Assert.Equal(KernelPaths.Best, KernelPaths.For(Simd.Best));
    }

    /// <summary>The CPU's own features, independently of the class under test.</summary>
    static bool CpuHas(KernelPath p) => p switch
    {
        KernelPath.Scalar => true,
        KernelPath.Avx2 => System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported,
        KernelPath.Avx512BW => System.Runtime.Intrinsics.X86.Avx512BW.IsSupported,
        _ => System.Runtime.Intrinsics.X86.AvxVnni.IsSupported && System.Runtime.Intrinsics.X86.Avx2.IsSupported,
    };
}
