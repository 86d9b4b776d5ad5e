namespace SpecDec.Backends.Cuda;

/// <summary>
/// Device memory from cuMemAlloc, zeroed at allocation (activation rows rely on zero padding). Freed by Dispose,
/// which makes the device's context current first.
/// </summary>
internal sealed unsafe class DeviceBuffer : IDisposable
{
    readonly CudaDevice _device;

    public DeviceBuffer(CudaDevice device, long bytes)
    {
        _device = device;
        Bytes = Math.Max(bytes, 1);
        ulong pointer;
        int status = device.Api.cuMemAlloc(&pointer, (nuint)Bytes);
        if (status != 0)
            throw new SpecDecException($"--device cuda: could not allocate {Bytes / (1 << 20)} MiB on {device.Name} ({device.Api.ErrorName(status)}); {device.FreeMemory() / (1 << 20)} MiB are free");
        Pointer = pointer;
        device.Api.Check(device.Api.cuMemsetD8(pointer, 0, (nuint)Bytes), "cuMemsetD8");
    }

    public ulong Pointer { get; private set; }
    public long Bytes { get; }

    /// <summary>Copies <paramref name="bytes"/> bytes from host memory to <paramref name="offset"/> (synchronous).</summary>
    public void Upload(void* source, long bytes, long offset = 0) =>
        _device.Api.Check(_device.Api.cuMemcpyHtoD(Pointer + (ulong)offset, source, (nuint)bytes), "cuMemcpyHtoD");

    public void Dispose()
    {
        if (Pointer == 0) return;
        _device.MakeCurrent();
        _device.Api.cuMemFree(Pointer);
        Pointer = 0;
    }
}
