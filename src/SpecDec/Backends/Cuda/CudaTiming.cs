using SpecDec.Tensors;

namespace SpecDec.Backends.Cuda;

/// <summary>
/// Times the backend's matmul kernels alone on random weights (perf --device cuda --kernels): the figures that
/// chose this backend's route, against the device-to-device copy bandwidth measured the same way.
/// </summary>
public static unsafe class CudaTiming
{
    /// <summary>
    /// Median microseconds of Y[rows × n] = X[rows × k] · Wᵀ for a <paramref name="type"/> matrix (W rotated over 4
    /// copies, so L2 holds none): one call timed alone, and a call within a chain of 32 captured into one CUDA graph
    /// (as a forward runs them: each launch overlapping the one before where dependent launches are on).
    /// </summary>
    public static (double Alone, double Chained) Matmul(CudaDevice device, GgmlType type, int n, int k, int rows, int repeats = 50)
    {
        lock (device.Gate)
        {
            device.MakeCurrent();
            var rng = new Random(1);
            long elementBytes = type == GgmlType.Q8_0 ? 1 : (long)GgmlTypeInfo.ByteCount(type, 1);
            const int Copies = 4;
            var bytes = new byte[(long)n * k * elementBytes];
            var buffers = new List<DeviceBuffer>();
            try
            {
                var weights = new (ulong Data, ulong Scales)[Copies];
                for (int c = 0; c < Copies; c++)
                {
                    // Finite values of every type: bytes below 0x3C in the high byte of each 16-bit element.
                    rng.NextBytes(bytes);
                    if (type is GgmlType.F16 or GgmlType.BF16)
                        for (long i = 1; i < bytes.Length; i += 2) bytes[i] &= 0x3B;
                    if (type == GgmlType.F32)
                        for (long i = 3; i < bytes.Length; i += 4) bytes[i] &= 0x3E;
                    var data = new DeviceBuffer(device, bytes.Length);
                    buffers.Add(data);
                    fixed (byte* p = bytes) data.Upload(p, bytes.Length);
                    var scales = new DeviceBuffer(device, (long)n * (k / 32) * 2);
                    buffers.Add(scales);
                    var s = Enumerable.Repeat(BitConverter.HalfToUInt16Bits((Half)0.01f), n * (k / 32)).ToArray();
                    fixed (ushort* p = s) scales.Upload(p, s.Length * 2L);
                    weights[c] = (data.Pointer, scales.Pointer);
                }
                var x = new DeviceBuffer(device, (long)rows * k * sizeof(float));
                var y = new DeviceBuffer(device, (long)rows * n * sizeof(float));
                buffers.Add(x);
                buffers.Add(y);
                var xs = Enumerable.Range(0, rows * k).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
                fixed (float* p = xs) x.Upload(p, xs.Length * 4L);
                CudaKernels kernels = device.Kernels;
                // Scratch for the input rounded to int8 (Q8_0) or split into bf16 terms (BF16 on tensor cores), as a forward does before each product.
                var xq = new DeviceBuffer(device, (long)rows * k);
                var xd = new DeviceBuffer(device, (long)rows * k / 32 * sizeof(float));
                var terms = new DeviceBuffer(device, 3L * rows * k * sizeof(ushort));
                DeviceMatrix Weights(int c) => new(type, weights[c].Data, weights[c].Scales, n, k, k);
                var part = new DeviceBuffer(device, Math.Max(1, CudaKernels.SplitScratchFloats(Weights(0))) * sizeof(float));
                var count = new DeviceBuffer(device, (n + CudaKernels.TensorCoreRows - 1) / CudaKernels.TensorCoreRows * sizeof(int));
                buffers.AddRange([xq, xd, terms, part, count]);
                var scratch = new MatmulScratch(xq.Pointer, xd.Pointer, terms.Pointer, (long)rows * k, part.Pointer, count.Pointer);
                void Run(int c) => kernels.Matmul(Weights(c), null, x.Pointer, rows, y.Pointer, n, accumulate: false, scratch);
                for (int i = 0; i < 8; i++) Run(i % Copies);
                double alone = device.TimeMedian(repeats, i => Run(i % Copies));
                const int Chain = 32;
                var api = device.Api;
                nint graph = 0, exec = 0;
                api.Check(api.cuStreamBeginCapture(device.Stream, 1 /* CU_STREAM_CAPTURE_MODE_THREAD_LOCAL */), "cuStreamBeginCapture");
                try
                {
                    for (int i = 0; i < Chain; i++) Run(i % Copies);
                }
                finally
                {
                    api.Check(api.cuStreamEndCapture(device.Stream, &graph), "cuStreamEndCapture");
                }
                try
                {
                    api.Check(api.cuGraphInstantiateWithFlags(&exec, graph, 0), "cuGraphInstantiateWithFlags");
                    nint replay = exec;
                    api.Check(api.cuGraphLaunch(replay, device.Stream), "cuGraphLaunch");
                    return (alone, device.TimeMedian(Math.Max(5, repeats / 5), _ => api.Check(api.cuGraphLaunch(replay, device.Stream), "cuGraphLaunch")) / Chain);
                }
                finally
                {
                    if (exec != 0) api.cuGraphExecDestroy(exec);
                    api.cuGraphDestroy(graph);
                }
            }
            finally
            {
                foreach (DeviceBuffer b in buffers) b.Dispose();
            }
        }
    }

    /// <summary>Device-to-device copy bandwidth, GB/s counting bytes read and written (the bound a decode step meets).</summary>
    public static double CopyBandwidth(CudaDevice device, long bytes = 1L << 30)
    {
        lock (device.Gate)
        {
            device.MakeCurrent();
            using var a = new DeviceBuffer(device, bytes);
            using var b = new DeviceBuffer(device, bytes);
            void Copy(int _) => device.Api.Check(device.Api.cuMemcpyDtoDAsync(b.Pointer, a.Pointer, (nuint)bytes, device.Stream), "cuMemcpyDtoDAsync");
            Copy(0);
            double us = device.TimeMedian(10, Copy);
            return 2.0 * bytes / (us * 1e-6) / 1e9;
        }
    }
}
