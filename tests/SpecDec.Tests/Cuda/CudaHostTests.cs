using System.Text.RegularExpressions;
using SpecDec.Backends.Cuda;
using SpecDec.Cli.Commands;
using SpecDec.Tensors;

namespace SpecDec.Tests.Cuda;

/// <summary>What CI checks of the CUDA backend without a GPU: the shipped PTX, the options and the errors.</summary>
public class CudaHostTests
{
    static string Source => CudaKernels.ReadResource(CudaKernels.SourceResource);
    static string Ptx => CudaKernels.ReadResource(CudaKernels.PtxResource);

    [Fact]
    public void The_shipped_ptx_was_made_from_this_source()
    {
        string first = Ptx.Split('\n')[0].TrimEnd('\r');
        Assert.StartsWith(CudaKernels.HashPrefix, first);
        // If this fails, specdec.cu changed after specdec.ptx was made: run build-ptx.sh on a machine with nvcc.
        Assert.Equal(CudaKernels.SourceHash(Source), first[CudaKernels.HashPrefix.Length..]);
    }

    [Fact]
    public void The_ptx_has_every_kernel_the_backend_loads()
    {
        var entries = Regex.Matches(Ptx, @"\.entry\s+(\w+)").Select(m => m.Groups[1].Value).ToHashSet();
        foreach (string name in CudaKernels.FunctionNames) Assert.Contains(name, entries);
    }

    [Fact]
    public void The_host_sizes_grids_and_buffers_as_the_kernels_expect()
    {
        int Define(string name) => int.Parse(Regex.Match(Source, $@"#define {name} (\d+)").Groups[1].Value);
        Assert.Equal(CudaKernels.MaxSplits, Define("MAXSPLIT"));            // AttPartial holds MaxSplits segments a row
        Assert.Equal(CudaKernels.TensorCoreThreads, (uint)Define("TCW") * 32); // the tensor-core matmuls' block
        // The kernels that fuse the RMSNorm form each row's sum as rmsnorm's block does, thread j summing elements j,
        // j + NormThreads, … (row_squares' stride): launched with another block size, the normed rows lose rmsnorm's bits.
        Assert.Contains($"c += {CudaKernels.NormThreads})", Source);
        // The attention grid is sized by the longest row of a chunk (by the cache's capacity in a captured graph); a
        // row whose segments it missed would never be written, so it must cover every shorter row's segments.
        int most = 0;
        for (int keys = 1; keys <= 20000; keys++)
        {
            int splits = CudaKernels.AttentionSplits(keys);
            Assert.InRange(splits, 1, CudaKernels.MaxSplits);
            most = Math.Max(most, splits);
            Assert.InRange(CudaKernels.AttentionGrid(keys), most, CudaKernels.MaxSplits);
        }
        Assert.Equal(4, CudaKernels.AttentionSplits(512));
        Assert.Equal(16, CudaKernels.AttentionSplits(2048));
        Assert.Equal(9, CudaKernels.AttentionSplits(2049)); // segments of 256 keys
    }

    [Fact]
    public void Launch_shapes_follow_the_matrix_and_the_grid()
    {
        // K groups are a function of the matrix alone (every batch size sums in one order): Llama-3.2-1B's shapes.
        static int Groups(GgmlType type, int rows, int columns) => CudaKernels.TensorCoreGroups(new DeviceMatrix(type, 0, 0, rows, columns, columns));
        Assert.Equal(2, Groups(GgmlType.BF16, 2048, 2048));    // attention output: 128 tiles
        Assert.Equal(2, Groups(GgmlType.BF16, 3072, 2048));    // QKV
        Assert.Equal(4, Groups(GgmlType.BF16, 2048, 8192));    // down
        Assert.Equal(1, Groups(GgmlType.BF16, 8192, 2048));    // gate and up: 512 tiles already
        Assert.Equal(1, Groups(GgmlType.BF16, 128256, 2048));  // head
        Assert.Equal(1, Groups(GgmlType.Q8_0, 2048, 8192));    // Q8_0 never splits
        Assert.Equal(129L * 4 * 2 * 64 * 16, CudaKernels.SplitScratchFloats(new DeviceMatrix(GgmlType.BF16, 0, 0, 2048, 8192, 8192)));
        Assert.Equal(0, CudaKernels.SplitScratchFloats(new DeviceMatrix(GgmlType.BF16, 0, 0, 8192, 2048, 2048)));
        // The streaming kernel's shared memory (ring, then the groups' sums) at 16 stages: the 1B's down projection (4 K
        // groups) and gate/up (GLU: 8 stages, the most that fit a block's 227 KB opt-in on an H100) in one block an SM;
        // at 8 stages two blocks fit its 228 KB (1 KB reserved a block).
        Assert.Equal(16 * 8 * 2 * 512 + 2 * 4 * 8 * 512, CudaKernels.StreamSharedBytes(glu: false, stages: 16, groups: 4));
        Assert.True(CudaKernels.StreamSharedBytes(glu: true, stages: 16, groups: 1) > 232448);
        Assert.Equal(8 * 8 * 4 * 512 + 2 * 1 * 8 * 2 * 512, CudaKernels.StreamSharedBytes(glu: true, stages: 8, groups: 1));
        Assert.True(2 * (CudaKernels.StreamSharedBytes(glu: false, stages: 8, groups: 4) + 1024) <= 233472);
        // Query heads per attention block: as many of a KV group's (up to specdec.cu's NH) as leave two blocks an SM.
        Assert.Equal(4, int.Parse(Regex.Match(Source, @"#define NH (\d+)").Groups[1].Value));
        Assert.Equal(1, CudaKernels.AttentionHeadsPerBlock(32, 8, rows: 1, segments: 5, multiprocessors: 132));
        Assert.Equal(2, CudaKernels.AttentionHeadsPerBlock(32, 8, rows: 4, segments: 5, multiprocessors: 132));
        Assert.Equal(4, CudaKernels.AttentionHeadsPerBlock(32, 8, rows: 8, segments: 5, multiprocessors: 132));
        Assert.Equal(1, CudaKernels.AttentionHeadsPerBlock(14, 2, rows: 64, segments: 16, multiprocessors: 132)); // groups of 7
        Assert.Equal(3, CudaKernels.AttentionHeadsPerBlock(12, 2, rows: 64, segments: 16, multiprocessors: 132)); // groups of 6
        Assert.Equal(1, CudaKernels.AttentionHeadsPerBlock(16, 16, rows: 64, segments: 16, multiprocessors: 132)); // no GQA
    }

    [Fact]
    public void A_wrong_device_is_one_error_naming_the_option()
    {
        var (code, _, err) = CommandInvocation.RunCli(GenerateCommand.Create(), ["generate", "--device", "gpu", "--prompt", "x"]);
        Assert.Equal(1, code);
        Assert.Contains("--device must be cpu or cuda, not 'gpu'", err);
        (code, _, err) = CommandInvocation.RunCli(PerfCommand.Create(), ["perf", "--device", "cuda", "--gpu", "-1"]);
        Assert.Equal(1, code);
        Assert.Contains("--gpu must be ≥ 0, not -1", err);
    }

    [NoDriverFact]
    public void Without_a_driver_cuda_is_one_clear_error()
    {
        foreach (var command in new[] { GenerateCommand.Create(), PerfCommand.Create(), BenchCommand.Create() })
        {
            string[] args = command.Name == "generate" ? ["generate", "--device", "cuda", "--prompt", "x"] : [command.Name, "--device", "cuda"];
            var (code, output, err) = CommandInvocation.RunCli(command, args);
            Assert.Equal(1, code);
            Assert.Equal("", output);
            Assert.Equal("error: --device cuda: no NVIDIA driver found (libcuda.so.1 or libcuda.so could not be loaded); install the NVIDIA driver or use --device cpu",
                err.Trim());
        }
    }
}
