using SpecDec.Model;
using SpecDec.Backends.Cpu;
using SpecDec.Backends.Cuda;
using SpecDec.Kernels;
using SpecDec.Model.Heads;
using SpecDec.Speculation;

namespace SpecDec.Cli;

/// <summary>
/// The draft heads a run's methods read (<see cref="SpeculationMethod.Head"/>), loaded beside the target and
/// checked against it: the files given (--head, --heads), else the bundled ones; disposed with this object.
/// Beside a CPU target the heads run on the target's pool. Beside a GPU target the EAGLE head runs on the host's CPU on
/// a pool of its own, or with <c>SPECDEC_CUDA_EAGLE=gpu</c> on the GPU (its forward one graph launch a level: on 16
/// host cores it cost 0.46 of a GPU target step, docs/gpu.md; opt-in until a device round has checked it); the Medusa
/// heads run on a host pool of their own.
/// </summary>
public sealed class HeadLoading : IDisposable
{
    /// <summary>Whether an EAGLE head beside a GPU target stays on the host's CPU (unless <c>SPECDEC_CUDA_EAGLE=gpu</c>).</summary>
    public static bool EagleOnHost => Environment.GetEnvironmentVariable("SPECDEC_CUDA_EAGLE") != "gpu";

    private readonly ILanguageModel? _eagle;
    private readonly MedusaHeads? _medusa;
    private readonly WorkerPool? _pool; // the host heads' own, beside a GPU target

    private HeadLoading(ILanguageModel? eagle, MedusaHeads? medusa, WorkerPool? pool)
    {
        _eagle = eagle;
        _medusa = medusa;
        _pool = pool;
        Heads = eagle is null && medusa is null ? null : new DraftHeads(eagle, medusa);
    }

    /// <summary>The loaded heads, or null when no method needs one.</summary>
    public DraftHeads? Heads { get; }

    /// <summary>Where the EAGLE head runs ("GPU", "CPU, N threads"), or null without one (for --stats and reports).</summary>
    public string? EagleRunsOn { get; private init; }

    /// <summary>Files of the heads loaded, by kind (for reports).</summary>
    public List<(string Kind, string Path)> Files { get; } = [];

    /// <param name="methods">The methods the run uses (registry names).</param>
    /// <param name="threads">Beside a GPU target: the heads' CPU threads (0: one per processor).</param>
    public static HeadLoading Load(IEnumerable<string> methods, string? eaglePath, string? medusaPath, ILanguageModel model, int threads = 0)
    {
        var kinds = methods.Select(m => SpeculationMethods.Get(m).Head).Where(h => h is not null).ToHashSet();
        if (kinds.Count == 0) return new HeadLoading(null, null, null);
        var (weights, cacheType, pool) = model switch
        {
            Transformer cpu => (cpu.Weights, cpu.CacheType, (WorkerPool?)null),
            CudaTransformer gpu => (gpu.Weights, gpu.CacheType, kinds.Contains(HeadFile.MedusaKind) || EagleOnHost ? new WorkerPool(threads) : null),
            _ => throw new SpecDecException($"--spec {string.Join("/", kinds)}: no draft heads for a {model.GetType().Name} target"),
        };
        ILanguageModel? eagle = null;
        MedusaHeads? medusa = null;
        var files = new List<(string, string)>();
        try
        {
            if (kinds.Contains(HeadFile.EagleKind))
            {
                string path = eaglePath ?? BundledFiles.Require(BundledFiles.EagleHead, "--head");
                eagle = model switch
                {
                    Transformer cpu => Transformer.LoadEagleHead(HeadFile.Open(path), cpu),
                    CudaTransformer gpu when !EagleOnHost => CudaTransformer.LoadEagleHead(HeadFile.Open(path), gpu),
                    _ => Transformer.LoadEagleHead(HeadFile.Open(path), model, weights, pool!),
                };
                if (eagle is Transformer t) t.CacheType = cacheType;
                else ((CudaTransformer)eagle).CacheType = cacheType;
                files.Add((HeadFile.EagleKind, path));
            }
            if (kinds.Contains(HeadFile.MedusaKind))
            {
                string path = medusaPath ?? BundledFiles.Require(BundledFiles.MedusaHeads, "--heads");
                var file = HeadFile.Open(path);
                try
                {
                    medusa = model is Transformer cpu ? new MedusaHeads(file, cpu) : MedusaHeads.Beside(file, model, weights.OutputHead, pool!);
                }
                catch
                {
                    file.Dispose();
                    throw;
                }
                files.Add((HeadFile.MedusaKind, path));
            }
        }
        catch
        {
            eagle?.Dispose();
            medusa?.Dispose();
            pool?.Dispose();
            throw;
        }
        var loading = new HeadLoading(eagle, medusa, pool)
        {
            EagleRunsOn = eagle switch { null => null, CudaTransformer => "GPU", _ => pool is null ? "CPU (the target's pool)" : $"CPU, {pool.ThreadCount} threads" },
        };
        loading.Files.AddRange(files);
        return loading;
    }

    public void Dispose()
    {
        _eagle?.Dispose();
        _medusa?.Dispose();
        _pool?.Dispose();
    }
}
