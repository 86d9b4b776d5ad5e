using System.Runtime.InteropServices;
using SpecDec.Backends.Cuda;

namespace SpecDec.Tests.Cuda;

/// <summary>Whether this machine has an NVIDIA driver and a GPU it sees, asked once.</summary>
internal static class GpuPresence
{
    static readonly Lazy<string?> Reason = new(() =>
    {
        if (!NativeLibrary.TryLoad(OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1", out _)) return "no NVIDIA driver on this machine";
        try
        {
            CudaDevice.Open(0);
            return null;
        }
        catch (SpecDecException e)
        {
            return e.Message;
        }
    });

    /// <summary>Why the GPU tests cannot run here, or null when they can.</summary>
    public static string? Missing => Reason.Value;

    /// <summary>Whether the driver library itself loads (a GPU need not be visible).</summary>
    public static bool DriverLoads => NativeLibrary.TryLoad(OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1", out _);
}

/// <summary>
/// A test that needs an NVIDIA GPU (trait Category=Gpu): skipped, saying why, where there is none, as in CI. Run them
/// on a GPU machine with `dotnet test --filter Category=Gpu`, or through `specdec parity` (docs/gpu.md).
/// </summary>
public sealed class GpuFactAttribute : FactAttribute
{
    public GpuFactAttribute()
    {
        if (GpuPresence.Missing is { } reason) Skip = reason;
    }
}

/// <summary>A test of the behaviour without a driver: skipped on a machine that has one.</summary>
public sealed class NoDriverFactAttribute : FactAttribute
{
    public NoDriverFactAttribute()
    {
        if (GpuPresence.DriverLoads) Skip = "this machine has an NVIDIA driver";
    }
}
