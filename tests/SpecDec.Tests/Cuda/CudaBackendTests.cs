using SpecDec.Cli.Perf;
using SpecDec.Backends.Cuda;
using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Cuda;

/// <summary>
/// The CUDA backend against the CPU backend on the parity fixtures and the bundled models: every kind of batch a
/// generation runs, and the GPU's own bit-exactness of trees and KeepRows (<see cref="BackendParity"/>). Needs a GPU.
/// </summary>
[Trait("Category", "Gpu")]
public class CudaBackendTests
{
    static readonly string[] Models =
    [
        "tests/fixtures/models/llama-f32", "tests/fixtures/models/llama-f16", "tests/fixtures/models/llama-bf16",
        "tests/fixtures/models/mistral-f32", "tests/fixtures/models/qwen2-f32", "tests/fixtures/models/qwen3-bf16",
        "tests/fixtures/models/demo-draft-tiny", "models/draft-tiny-q8_0.gguf", "models/target-q8_0.gguf",
    ];

    [GpuFact]
    public void Every_model_matches_the_cpu()
    {
        var failed = new List<string>();
        foreach (string model in Models)
        {
            var result = BackendParity.Run(Path.Combine(RepoPaths.Root, model), CudaDevice.Open(0), _ => { });
            if (!result.Passed) failed.Add($"{model}: {string.Join("; ", result.Checks)}");
        }
        Assert.Empty(failed);
    }

    [GpuFact]
    public void The_eagle_head_matches_the_cpu()
    {
        var result = HeadParity.Run(Path.Combine(RepoPaths.Root, "models/target-q8_0.gguf"), Path.Combine(RepoPaths.Root, "models/eagle-q8_0.gguf"),
            CudaDevice.Open(0), _ => { });
        Assert.True(result.Passed, string.Join("; ", result.Checks));
    }
}
