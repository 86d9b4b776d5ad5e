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
/// The heads run on the CPU backend: on the target's pool beside a CPU target, on a pool of their own beside a GPU
/// target (a head's forward is one small block, bound by launch latency on a GPU; on the host's cores it costs a
/// fraction of the target's verification, and the target's features come back to the host for the verifier anyway).
/// </summary>
public sealed class HeadLoading : IDisposable
{
    private readonly Transformer? _eagle;
    private readonly MedusaHeads? _medusa;
    private readonly WorkerPool? _pool; // the heads' own, beside a GPU target

    private HeadLoading(Transformer? eagle, MedusaHeads? medusa, WorkerPool? pool)
    {
        _eagle = eagle;
        _medusa = medusa;
        _pool = pool;
        Heads = eagle is null && medusa is null ? null : new DraftHeads(eagle, medusa);
    }

    /// <summary>The loaded heads, or null when no method needs one.</summary>
    public DraftHeads? Heads { get; }

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
            CudaTransformer gpu => (gpu.Weights, gpu.CacheType, new WorkerPool(threads)),
            _ => throw new SpecDecException($"--spec {string.Join("/", kinds)}: no draft heads for a {model.GetType().Name} target"),
        };
        Transformer? eagle = null;
        MedusaHeads? medusa = null;
        var files = new List<(string, string)>();
        try
        {
            if (kinds.Contains(HeadFile.EagleKind))
            {
                string path = eaglePath ?? BundledFiles.Require(BundledFiles.EagleHead, "--head");
                eagle = model is Transformer cpu ? Transformer.LoadEagleHead(HeadFile.Open(path), cpu) : Transformer.LoadEagleHead(HeadFile.Open(path), model, weights, pool!);
                eagle.CacheType = cacheType;
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
        var loading = new HeadLoading(eagle, medusa, pool);
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
