using SpecDec.Backends.Cuda;
using SpecDec.Tensors;

namespace SpecDec.Cli.Perf;

/// <summary>
/// `perf --device cuda --kernels`: the matmul kernels alone at Llama-3.2-1B's matrix sizes (the route's spike),
/// microseconds and GB/s of weights read for 1, 8 and 64 rows, alone and within a chain of launches, against the
/// device's copy bandwidth.
/// </summary>
internal static class KernelTimes
{
    static readonly (string Name, int N, int K)[] Shapes =
        [("q/o 2048x2048", 2048, 2048), ("k/v 512x2048", 512, 2048), ("gate/up 8192x2048", 8192, 2048), ("down 2048x8192", 2048, 8192), ("head 128256x2048", 128256, 2048)];

    public static void Write(CudaDevice gpu, TextWriter o)
    {
        o.WriteLine($"device {gpu}");
        o.WriteLine($"device copy bandwidth {CudaTiming.CopyBandwidth(gpu):F0} GB/s (read + write)");
        o.WriteLine($"{"type",-5} {"matrix",-18} {"rows",4} {"µs",9} {"GB/s",7} {"chained µs",11} {"GB/s",7}");
        foreach (GgmlType type in new[] { GgmlType.BF16, GgmlType.Q8_0 })
            foreach (var (name, n, k) in Shapes)
                foreach (int rows in new[] { 1, 8, 64 })
                {
                    var (us, chained) = CudaTiming.Matmul(gpu, type, n, k, rows);
                    double bytes = (double)n * k * (type == GgmlType.Q8_0 ? 34.0 / 32 : 2);
                    o.WriteLine($"{type,-5} {name,-18} {rows,4} {us,9:F1} {bytes / (us * 1e-6) / 1e9,7:F0} {chained,11:F1} {bytes / (chained * 1e-6) / 1e9,7:F0}");
                }
    }
}
