using System.CommandLine;
using SpecDec.Backends.Cpu;
using SpecDec.Backends.Cuda;
using SpecDec.Kernels;
using SpecDec.Model;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `--device cpu|cuda` and `--gpu N`, shared by the commands that run models, and the one place the CLI picks a
/// backend. The CUDA backend's types are touched only when cuda is chosen, so a CPU run never loads a CUDA library.
/// </summary>
internal sealed class DeviceOption
{
    public Option<string> Device { get; } = new("--device")
    {
        Description = "where the models run: cpu, or cuda (an NVIDIA GPU; needs only the NVIDIA driver)",
        DefaultValueFactory = _ => "cpu",
    };

    public Option<int> Gpu { get; } = new("--gpu") { Description = "with --device cuda: which GPU (0 is the first)", DefaultValueFactory = _ => 0 };

    public DeviceOption()
    {
        // A validator rather than AcceptOnlyFromAmong, whose message does not name the option.
        Device.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not ("cpu" or "cuda")) result.AddError($"--device must be cpu or cuda, not '{value}'");
        });
        Gpu.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value < 0) result.AddError($"--gpu must be ≥ 0, not {value}");
        });
    }

    public IEnumerable<Option> Options => [Device, Gpu];

    /// <summary>The chosen device: null for the CPU, else the GPU, opened now (one clear error without a driver or GPU).</summary>
    public CudaDevice? Open(ParseResult parse) => parse.GetValue(Device) == "cuda" ? OpenCuda(parse.GetValue(Gpu)) : null;

    static CudaDevice OpenCuda(int gpu) => CudaDevice.Open(gpu);

    /// <summary>
    /// Loads <paramref name="source"/> (which the model then owns) on <paramref name="gpu"/>, or on the CPU over
    /// <paramref name="pool"/> (when null, a pool of its own of <paramref name="threads"/> threads).
    /// </summary>
    public static ILanguageModel Load(IModelSource source, CudaDevice? gpu, KvCacheType cache, WorkerPool? pool = null, int threads = 0)
    {
        if (gpu is not null) return LoadCuda(source, gpu, cache);
        Transformer model = pool is null ? Transformer.Load(source, threads) : Transformer.Load(source, pool);
        model.CacheType = cache;
        return model;
    }

    static ILanguageModel LoadCuda(IModelSource source, CudaDevice gpu, KvCacheType cache)
    {
        CudaTransformer model = CudaTransformer.Load(source, gpu);
        model.CacheType = cache;
        return model;
    }
}
