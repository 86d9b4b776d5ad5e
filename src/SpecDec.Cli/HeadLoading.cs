using SpecDec.Model;
using SpecDec.Backends.Cpu;
using SpecDec.Model.Heads;
using SpecDec.Speculation;

namespace SpecDec.Cli;

/// <summary>
/// The draft heads a run's methods read (<see cref="SpeculationMethod.Head"/>), loaded beside the target and
/// checked against it: the files given (--head, --heads), else the bundled ones; disposed with this object.
/// </summary>
public sealed class HeadLoading : IDisposable
{
    private readonly Transformer? _eagle;
    private readonly MedusaHeads? _medusa;

    private HeadLoading(Transformer? eagle, MedusaHeads? medusa)
    {
        _eagle = eagle;
        _medusa = medusa;
        Heads = eagle is null && medusa is null ? null : new DraftHeads(eagle, medusa);
    }

    /// <summary>The loaded heads, or null when no method needs one.</summary>
    public DraftHeads? Heads { get; }

    /// <summary>Files of the heads loaded, by kind (for reports).</summary>
    public List<(string Kind, string Path)> Files { get; } = [];

    /// <param name="methods">The methods the run uses (registry names).</param>
    public static HeadLoading Load(IEnumerable<string> methods, string? eaglePath, string? medusaPath, ILanguageModel model)
    {
        var kinds = methods.Select(m => SpeculationMethods.Get(m).Head).Where(h => h is not null).ToHashSet();
        if (kinds.Count > 0 && model is not Transformer)
            throw new SpecDecException($"--spec {string.Join("/", kinds)}: the heads run on the CPU backend only, not with --device cuda");
        var target = model as Transformer;
        Transformer? eagle = null;
        MedusaHeads? medusa = null;
        var files = new List<(string, string)>();
        try
        {
            if (kinds.Contains(HeadFile.EagleKind))
            {
                string path = eaglePath ?? BundledFiles.Require(BundledFiles.EagleHead, "--head");
                eagle = Transformer.LoadEagleHead(HeadFile.Open(path), target!);
                eagle.CacheType = target!.CacheType;
                files.Add((HeadFile.EagleKind, path));
            }
            if (kinds.Contains(HeadFile.MedusaKind))
            {
                string path = medusaPath ?? BundledFiles.Require(BundledFiles.MedusaHeads, "--heads");
                var file = HeadFile.Open(path);
                try
                {
                    medusa = new MedusaHeads(file, target!);
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
            throw;
        }
        var loading = new HeadLoading(eagle, medusa);
        loading.Files.AddRange(files);
        return loading;
    }

    public void Dispose()
    {
        _eagle?.Dispose();
        _medusa?.Dispose();
    }
}
