using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Tools.Benchmarking;

/// <summary>The machine a benchmark ran on: enough to tell whether two results are comparable.</summary>
public sealed record MachineInfo(string Cpu, int LogicalCores, string Simd, string Os, string Runtime, string? LoadAverage = null)
{
    /// <summary>This machine: the CPU model from /proc/cpuinfo where there is one, the kernels' SIMD level and path and the x86 extensions behind it.</summary>
    public static MachineInfo Current() => new(
        CpuModel(),
        Environment.ProcessorCount,
        SimdDescription(),
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        LoadNow());

    /// <summary>The 1/5/15-minute load averages (Linux), since a busy shared machine skews every timing.</summary>
    private static string? LoadNow()
    {
        const string loadavg = "/proc/loadavg";
        if (!File.Exists(loadavg)) return null;
        var parts = File.ReadAllText(loadavg).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 3 ? string.Join(' ', parts[..3]) : null;
    }

    private static string CpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (File.Exists(cpuinfo))
        {
            foreach (string line in File.ReadLines(cpuinfo))
            {
                int colon = line.IndexOf(':');
                if (colon > 0 && line[..colon].Trim() is "model name" or "Model" or "cpu model")
                    return line[(colon + 1)..].Trim();
            }
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static string SimdDescription()
    {
        var features = new List<string>();
        if (Avx2.IsSupported) features.Add("AVX2");
        if (Fma.IsSupported) features.Add("FMA");
        if (Avx512F.IsSupported) features.Add("AVX-512F");
        if (Avx512BW.IsSupported) features.Add("BW");
        if (Avx512F.VL.IsSupported) features.Add("VL");
        if (Avx512Vbmi.IsSupported) features.Add("VBMI");
        if (AvxVnni.IsSupported) features.Add("AVX-VNNI");
        string best = $"{Kernels.Simd.Best}, kernels {Kernels.KernelPaths.Name(Kernels.KernelPaths.Best)}";
        return features.Count == 0 ? best : $"{best} ({string.Join(" ", features)})";
    }
}
