using System.Text;
using SpecDec.Backends.Cuda.Driver;

namespace SpecDec.Backends.Cuda;

/// <summary>
/// One NVIDIA GPU, opened once per process: its primary context, its kernels (<see cref="CudaKernels"/>) and the
/// <see cref="Gate"/> that every model and cache on it holds while it issues work, so that forwards of several
/// threads (a target and its draft, several sequences) take turns on the device's one stream in order.
/// </summary>
public sealed unsafe class CudaDevice
{
    static readonly Dictionary<int, CudaDevice> Opened = [];
    readonly nint _context;

    CudaDevice(CudaApi api, int ordinal)
    {
        Api = api;
        Ordinal = ordinal;
        int device;
        api.Check(api.cuDeviceGet(&device, ordinal), "cuDeviceGet");
        var name = new byte[256];
        fixed (byte* n = name) api.Check(api.cuDeviceGetName(n, name.Length, device), "cuDeviceGetName");
        Name = Encoding.UTF8.GetString(name).TrimEnd('\0');
        ComputeMajor = Attribute(device, 75);   // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
        ComputeMinor = Attribute(device, 76);   // …_MINOR
        Multiprocessors = Attribute(device, 16); // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
        SharedPerBlock = Attribute(device, 97); // CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
        SharedPerMultiprocessor = Attribute(device, 81); // CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR
        nuint total;
        api.Check(api.cuDeviceTotalMem(&total, device), "cuDeviceTotalMem");
        TotalMemory = (long)total;
        nint context;
        api.Check(api.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
        _context = context;
        MakeCurrent();
        nint stream;
        api.Check(api.cuStreamCreate(&stream, 0), "cuStreamCreate");
        Stream = stream;
        Kernels = new CudaKernels(this);
    }

    /// <summary>
    /// GPU <paramref name="ordinal"/> (as nvidia-smi and CUDA_VISIBLE_DEVICES count them). Loads the driver on first
    /// use; without a driver or such a GPU, a <see cref="SpecDecException"/> that says which.
    /// </summary>
    public static CudaDevice Open(int ordinal = 0)
    {
        lock (Opened)
        {
            if (Opened.TryGetValue(ordinal, out CudaDevice? device)) return device;
            CudaApi api = CudaApi.Instance;
            int count;
            api.Check(api.cuDeviceGetCount(&count), "cuDeviceGetCount");
            if (count == 0) throw new SpecDecException("--device cuda: the NVIDIA driver sees no GPU");
            if (ordinal < 0 || ordinal >= count)
                throw new SpecDecException($"--gpu {ordinal}: this machine has {count} GPU{(count == 1 ? "" : "s")} (0{(count > 1 ? $"..{count - 1}" : "")})");
            device = new CudaDevice(api, ordinal);
            Opened[ordinal] = device;
            return device;
        }
    }

    internal CudaApi Api { get; }
    public int Ordinal { get; }
    public string Name { get; }
    public int ComputeMajor { get; }
    public int ComputeMinor { get; }
    public int Multiprocessors { get; }

    /// <summary>Shared memory bytes a block may opt in to, and that a multiprocessor has.</summary>
    internal int SharedPerBlock { get; }
    internal int SharedPerMultiprocessor { get; }
    public long TotalMemory { get; }
    internal CudaKernels Kernels { get; }

    /// <summary>The one stream all work on this device goes to, in order (a created stream, so it can be captured into a CUDA graph).</summary>
    internal nint Stream { get; }

    /// <summary>Held while issuing work to this device (see the class summary).</summary>
    public object Gate { get; } = new();

    /// <summary>Where the kernels came from: NVRTC (version) or the shipped PTX.</summary>
    public string KernelSource => Kernels.Source;

    public override string ToString() => $"{Name} (GPU {Ordinal}, sm_{ComputeMajor}{ComputeMinor}, {Multiprocessors} SMs, {TotalMemory / (1L << 20)} MiB; kernels: {KernelSource}{(Kernels.TensorCores ? ", tensor-core matmuls" : "")}{(Kernels.Dependent ? ", dependent launches" : "")}{(CudaGraphs.Enabled ? ", CUDA graphs" : "")})";

    /// <summary>Binds the device's context to the calling thread (the driver's current context is per thread).</summary>
    internal void MakeCurrent() => Api.Check(Api.cuCtxSetCurrent(_context), "cuCtxSetCurrent");

    /// <summary>Waits for all work issued so far.</summary>
    internal void Synchronize() => Api.Check(Api.cuCtxSynchronize(), "cuCtxSynchronize");

    /// <summary>Free device memory now, in bytes.</summary>
    public long FreeMemory()
    {
        lock (Gate)
        {
            MakeCurrent();
            nuint free, total;
            Api.Check(Api.cuMemGetInfo(&free, &total), "cuMemGetInfo");
            return (long)free;
        }
    }

    /// <summary>Median microseconds of <paramref name="work"/>(i), each timed alone with device events; under the gate.</summary>
    internal double TimeMedian(int repeats, Action<int> work)
    {
        nint start, stop;
        Api.Check(Api.cuEventCreate(&start, 0), "cuEventCreate");
        Api.Check(Api.cuEventCreate(&stop, 0), "cuEventCreate");
        try
        {
            var times = new double[repeats];
            for (int i = 0; i < repeats; i++)
            {
                Api.Check(Api.cuEventRecord(start, Stream), "cuEventRecord");
                work(i);
                Api.Check(Api.cuEventRecord(stop, Stream), "cuEventRecord");
                Api.Check(Api.cuEventSynchronize(stop), "cuEventSynchronize");
                float ms;
                Api.Check(Api.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
                times[i] = ms * 1000.0;
            }
            Array.Sort(times);
            return times[repeats / 2];
        }
        finally
        {
            Api.cuEventDestroy(start);
            Api.cuEventDestroy(stop);
        }
    }

    int Attribute(int device, int attribute)
    {
        int value;
        Api.Check(Api.cuDeviceGetAttribute(&value, attribute, device), "cuDeviceGetAttribute");
        return value;
    }
}
