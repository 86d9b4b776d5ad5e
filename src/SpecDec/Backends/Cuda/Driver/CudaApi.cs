using System.Runtime.InteropServices;

namespace SpecDec.Backends.Cuda.Driver;

/// <summary>
/// The CUDA driver API (libcuda.so.1 / nvcuda.dll, installed with the NVIDIA driver: no toolkit needed), bound at
/// run time the first time a CUDA model is made. A CPU-only run never touches this class, so it never loads the
/// library. Entry points are resolved by their versioned export names (cuMemAlloc_v2 …), which is what the
/// toolkit's headers map the plain names to.
/// </summary>
internal sealed unsafe class CudaApi
{
    static readonly Lazy<CudaApi> Shared = new(Load);

    /// <summary>The driver, loaded and initialised once; a <see cref="SpecDecException"/> naming what is missing otherwise.</summary>
    public static CudaApi Instance => Shared.Value;

    /// <summary>Library names of the driver API, per platform, tried in order.</summary>
    static readonly string[] LibraryNames = OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"];

    readonly nint _library;

    public delegate* unmanaged<uint, int> cuInit;
    public delegate* unmanaged<int*, int> cuDriverGetVersion;
    public delegate* unmanaged<int*, int> cuDeviceGetCount;
    public delegate* unmanaged<int*, int, int> cuDeviceGet;
    public delegate* unmanaged<byte*, int, int, int> cuDeviceGetName;
    public delegate* unmanaged<int*, int, int, int> cuDeviceGetAttribute;
    public delegate* unmanaged<nuint*, int, int> cuDeviceTotalMem;
    public delegate* unmanaged<nint*, int, int> cuDevicePrimaryCtxRetain;
    public delegate* unmanaged<int, int> cuDevicePrimaryCtxRelease;
    public delegate* unmanaged<nint, int> cuCtxSetCurrent;
    public delegate* unmanaged<int> cuCtxSynchronize;
    public delegate* unmanaged<nuint*, nuint*, int> cuMemGetInfo;
    public delegate* unmanaged<nint*, void*, uint, int*, void**, int> cuModuleLoadDataEx;
    public delegate* unmanaged<nint*, nint, byte*, int> cuModuleGetFunction;
    public delegate* unmanaged<nint, int> cuModuleUnload;
    public delegate* unmanaged<ulong*, nuint, int> cuMemAlloc;
    public delegate* unmanaged<ulong, int> cuMemFree;
    public delegate* unmanaged<void**, nuint, int> cuMemAllocHost;
    public delegate* unmanaged<void*, int> cuMemFreeHost;
    public delegate* unmanaged<ulong, byte, nuint, int> cuMemsetD8;
    public delegate* unmanaged<ulong, void*, nuint, int> cuMemcpyHtoD;
    public delegate* unmanaged<void*, ulong, nuint, int> cuMemcpyDtoH;
    public delegate* unmanaged<ulong, void*, nuint, nint, int> cuMemcpyHtoDAsync;
    public delegate* unmanaged<void*, ulong, nuint, nint, int> cuMemcpyDtoHAsync;
    public delegate* unmanaged<ulong, ulong, nuint, nint, int> cuMemcpyDtoDAsync;
    public delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int> cuLaunchKernel;
    /// <summary>cuLaunchKernelEx (driver 12.0+; null when absent): a launch with attributes (<see cref="LaunchConfig"/>).</summary>
    public delegate* unmanaged<LaunchConfig*, nint, void**, void**, int> cuLaunchKernelEx;
    public delegate* unmanaged<nint, int, int, int> cuFuncSetAttribute;
    public delegate* unmanaged<nint, int> cuStreamSynchronize;
    public delegate* unmanaged<nint*, uint, int> cuStreamCreate;
    public delegate* unmanaged<nint, int> cuStreamDestroy;
    public delegate* unmanaged<nint, int, int> cuStreamBeginCapture;
    public delegate* unmanaged<nint, nint*, int> cuStreamEndCapture;
    public delegate* unmanaged<nint*, nint, ulong, int> cuGraphInstantiateWithFlags;
    public delegate* unmanaged<nint, nint, int> cuGraphLaunch;
    public delegate* unmanaged<nint, int> cuGraphExecDestroy;
    public delegate* unmanaged<nint, int> cuGraphDestroy;
    public delegate* unmanaged<nint*, uint, int> cuEventCreate;
    public delegate* unmanaged<nint, nint, int> cuEventRecord;
    public delegate* unmanaged<nint, int> cuEventSynchronize;
    public delegate* unmanaged<float*, nint, nint, int> cuEventElapsedTime;
    public delegate* unmanaged<nint, int> cuEventDestroy;
    public delegate* unmanaged<int, byte**, int> cuGetErrorName;

    CudaApi(nint library)
    {
        _library = library;
        cuInit = (delegate* unmanaged<uint, int>)Export("cuInit");
        cuDriverGetVersion = (delegate* unmanaged<int*, int>)Export("cuDriverGetVersion");
        cuDeviceGetCount = (delegate* unmanaged<int*, int>)Export("cuDeviceGetCount");
        cuDeviceGet = (delegate* unmanaged<int*, int, int>)Export("cuDeviceGet");
        cuDeviceGetName = (delegate* unmanaged<byte*, int, int, int>)Export("cuDeviceGetName");
        cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)Export("cuDeviceGetAttribute");
        cuDeviceTotalMem = (delegate* unmanaged<nuint*, int, int>)Export("cuDeviceTotalMem_v2");
        cuDevicePrimaryCtxRetain = (delegate* unmanaged<nint*, int, int>)Export("cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = (delegate* unmanaged<int, int>)Export("cuDevicePrimaryCtxRelease_v2");
        cuCtxSetCurrent = (delegate* unmanaged<nint, int>)Export("cuCtxSetCurrent");
        cuCtxSynchronize = (delegate* unmanaged<int>)Export("cuCtxSynchronize");
        cuMemGetInfo = (delegate* unmanaged<nuint*, nuint*, int>)Export("cuMemGetInfo_v2");
        cuModuleLoadDataEx = (delegate* unmanaged<nint*, void*, uint, int*, void**, int>)Export("cuModuleLoadDataEx");
        cuModuleGetFunction = (delegate* unmanaged<nint*, nint, byte*, int>)Export("cuModuleGetFunction");
        cuModuleUnload = (delegate* unmanaged<nint, int>)Export("cuModuleUnload");
        cuMemAlloc = (delegate* unmanaged<ulong*, nuint, int>)Export("cuMemAlloc_v2");
        cuMemFree = (delegate* unmanaged<ulong, int>)Export("cuMemFree_v2");
        cuMemAllocHost = (delegate* unmanaged<void**, nuint, int>)Export("cuMemAllocHost_v2");
        cuMemFreeHost = (delegate* unmanaged<void*, int>)Export("cuMemFreeHost");
        cuMemsetD8 = (delegate* unmanaged<ulong, byte, nuint, int>)Export("cuMemsetD8_v2");
        cuMemcpyHtoD = (delegate* unmanaged<ulong, void*, nuint, int>)Export("cuMemcpyHtoD_v2");
        cuMemcpyDtoH = (delegate* unmanaged<void*, ulong, nuint, int>)Export("cuMemcpyDtoH_v2");
        cuMemcpyHtoDAsync = (delegate* unmanaged<ulong, void*, nuint, nint, int>)Export("cuMemcpyHtoDAsync_v2");
        cuMemcpyDtoHAsync = (delegate* unmanaged<void*, ulong, nuint, nint, int>)Export("cuMemcpyDtoHAsync_v2");
        cuMemcpyDtoDAsync = (delegate* unmanaged<ulong, ulong, nuint, nint, int>)Export("cuMemcpyDtoDAsync_v2");
        cuLaunchKernel = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)Export("cuLaunchKernel");
        cuLaunchKernelEx = NativeLibrary.TryGetExport(_library, "cuLaunchKernelEx", out nint launchEx) ? (delegate* unmanaged<LaunchConfig*, nint, void**, void**, int>)launchEx : null;
        cuFuncSetAttribute = (delegate* unmanaged<nint, int, int, int>)Export("cuFuncSetAttribute");
        cuStreamSynchronize = (delegate* unmanaged<nint, int>)Export("cuStreamSynchronize");
        cuStreamCreate = (delegate* unmanaged<nint*, uint, int>)Export("cuStreamCreate");
        cuStreamDestroy = (delegate* unmanaged<nint, int>)Export("cuStreamDestroy_v2");
        cuStreamBeginCapture = (delegate* unmanaged<nint, int, int>)Export("cuStreamBeginCapture_v2");
        cuStreamEndCapture = (delegate* unmanaged<nint, nint*, int>)Export("cuStreamEndCapture");
        cuGraphInstantiateWithFlags = (delegate* unmanaged<nint*, nint, ulong, int>)Export("cuGraphInstantiateWithFlags");
        cuGraphLaunch = (delegate* unmanaged<nint, nint, int>)Export("cuGraphLaunch");
        cuGraphExecDestroy = (delegate* unmanaged<nint, int>)Export("cuGraphExecDestroy");
        cuGraphDestroy = (delegate* unmanaged<nint, int>)Export("cuGraphDestroy");
        cuEventCreate = (delegate* unmanaged<nint*, uint, int>)Export("cuEventCreate");
        cuEventRecord = (delegate* unmanaged<nint, nint, int>)Export("cuEventRecord");
        cuEventSynchronize = (delegate* unmanaged<nint, int>)Export("cuEventSynchronize");
        cuEventElapsedTime = (delegate* unmanaged<float*, nint, nint, int>)Export("cuEventElapsedTime");
        cuEventDestroy = (delegate* unmanaged<nint, int>)Export("cuEventDestroy_v2");
        cuGetErrorName = (delegate* unmanaged<int, byte**, int>)Export("cuGetErrorName");
    }

    nint Export(string name) => NativeLibrary.TryGetExport(_library, name, out nint address)
        ? address
        : throw new SpecDecException($"--device cuda: the NVIDIA driver library has no {name}; the driver is too old for this build (update the NVIDIA driver)");

    static CudaApi Load()
    {
        nint library = 0;
        if (!LibraryNames.Any(name => NativeLibrary.TryLoad(name, out library)))
            throw new SpecDecException($"--device cuda: no NVIDIA driver found ({string.Join(" or ", LibraryNames)} could not be loaded); install the NVIDIA driver or use --device cpu");
        var api = new CudaApi(library);
        int status = api.cuInit(0);
        if (status != 0)
            throw new SpecDecException($"--device cuda: the NVIDIA driver did not initialise ({api.ErrorName(status)}); is a GPU present and visible to this process?");
        return api;
    }

    /// <summary>The driver's name of an error code (CUDA_ERROR_…).</summary>
    public string ErrorName(int status)
    {
        byte* name = null;
        return cuGetErrorName(status, &name) == 0 && name != null ? Marshal.PtrToStringUTF8((nint)name)! : $"CUresult {status}";
    }

    /// <summary>Throws a <see cref="CudaException"/> naming the call when <paramref name="status"/> is not CUDA_SUCCESS.</summary>
    public void Check(int status, string call)
    {
        if (status != 0) throw new CudaException(call, ErrorName(status));
    }
}

/// <summary>CUlaunchConfig: a kernel launch's grid, block, shared memory, stream and attributes.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct LaunchConfig
{
    public uint GridX, GridY, GridZ, BlockX, BlockY, BlockZ, SharedBytes;
    public nint Stream;
    public LaunchAttribute* Attributes;
    public uint AttributeCount;
}

/// <summary>CUlaunchAttribute: an id, padding to 8 bytes, and a 64-byte value of which the first int is used here.</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
public struct LaunchAttribute
{
    /// <summary>CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION: the kernel may start before the previous one ends.</summary>
    public const int ProgrammaticStreamSerialization = 6;
    [FieldOffset(0)] public int Id;
    [FieldOffset(8)] public int Value;
}

/// <summary>A driver call failed: the call and the driver's error name.</summary>
public sealed class CudaException(string call, string error) : SpecDecException($"CUDA: {call} failed: {error}")
{
    public string Error { get; } = error;
}
