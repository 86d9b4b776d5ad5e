using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Tensors;

namespace SpecDec.Model.Heads;

/// <summary>
/// A draft head opened for use: an EAGLE head (<see cref="Eagle"/>: one decoder block's config) or Medusa
/// heads (<see cref="Medusa"/>), its tensors under canonical names, memory-mapped, and the base model it was
/// trained for (<see cref="Base"/>). From a GGUF file (general.architecture "eagle" or "medusa"; keys in
/// models/README.md) or a folder in the reference implementations' layout (<see cref="HeadFolder"/>). The
/// tensors a config implies are checked on open; <see cref="Check"/> checks the head against a target.
/// </summary>
public sealed class HeadFile : IDisposable
{
    public const string EagleKind = ModelConfig.EagleArchitecture;
    public const string MedusaKind = "medusa";

    /// <summary>GGUF keys of a head beside the llama-style ones (see models/README.md).</summary>
    public const string BaseModelCount = "general.base_model.count";
    public const string BaseModelName = "general.base_model.0.name";
    public static string TokenHashKey(string kind) => $"{kind}.base_model.token_hash";
    public static string MedusaHeadCount => $"{MedusaKind}.head_count";

    /// <summary>An EAGLE head's draft vocabulary: I64 [N], the target token ids of its logits (llama.cpp's EAGLE-3 d2t).</summary>
    public const string DraftVocabTensor = "d2t";

    private readonly IDisposable[] _files;
    private readonly Dictionary<string, WeightTensor> _byName;

    internal HeadFile(string path, string formatName, string kind, BaseModelIdentity identity, ModelConfig? eagle, MedusaConfig? medusa,
        Dictionary<string, WeightTensor> tensors, IReadOnlyDictionary<string, object> metadata, IDisposable[] files, int[]? draftVocab = null)
    {
        DraftVocab = draftVocab;
        Path = path;
        FormatName = formatName;
        Kind = kind;
        Base = identity;
        Eagle = eagle;
        Medusa = medusa;
        _byName = tensors;
        Metadata = metadata;
        _files = files;
    }

    public string Path { get; }
    public string FormatName { get; }

    /// <summary><see cref="EagleKind"/> or <see cref="MedusaKind"/>.</summary>
    public string Kind { get; }
    public BaseModelIdentity Base { get; }

    /// <summary>An EAGLE head's block (Architecture "eagle", one layer; vocabulary = the base's); null for Medusa.</summary>
    public ModelConfig? Eagle { get; }
    public MedusaConfig? Medusa { get; }

    /// <summary>
    /// An EAGLE head's reduced draft vocabulary (EAGLE-3's d2t as absolute ids, distinct, each below the vocabulary):
    /// its logits score only these tokens of the target's output head; null: all of them.
    /// </summary>
    public IReadOnlyList<int>? DraftVocab { get; }
    public int HiddenSize => Eagle?.HiddenSize ?? Medusa!.HiddenSize;
    public IReadOnlyDictionary<string, object> Metadata { get; }
    public IReadOnlyCollection<WeightTensor> Tensors => _byName.Values;
    public WeightTensor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Throws a <see cref="ModelFormatException"/> when the head does not fit <paramref name="target"/>.</summary>
    public void Check(ILanguageModel target) => Base.Check(target, HiddenSize, Path);

    /// <summary>
    /// Whether <paramref name="path"/> holds a head rather than a model: a folder whose config.json describes an
    /// EAGLE or Medusa head, or a GGUF whose general.architecture is "eagle" or "medusa".
    /// </summary>
    public static bool IsHead(string path)
    {
        if (Directory.Exists(path)) return HeadFolder.Kind(path) is not null;
        if (!File.Exists(path) || !path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return false;
        try
        {
            using GgufFile file = GgufFile.Open(path);
            return file.Metadata.GetValueOrDefault(GgufKeys.Architecture) is EagleKind or MedusaKind;
        }
        catch (SpecDecException)
        {
            return false; // not a readable GGUF: let the model loader say why
        }
    }

    /// <summary>Opens a head: a GGUF file or a folder in the reference layout. Throws a <see cref="SpecDecException"/> on anything amiss.</summary>
    public static HeadFile Open(string path)
    {
        if (Directory.Exists(path)) return HeadFolder.Open(path);
        if (!File.Exists(path)) throw new SpecDecException($"{path}: no such head file or folder");
        if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase))
            throw new ModelFormatException(path, "PyTorch pickle checkpoints are not read (they can run code): re-save the head with safetensors, then `specdec convert` it");
        GgufFile file = GgufFile.Open(path);
        try
        {
            return FromGguf(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static HeadFile FromGguf(GgufFile file)
    {
        string path = file.Path;
        var m = new GgufMetadata(file.Metadata, path);
        string kind = m.String(GgufKeys.Architecture);
        if (kind is not (EagleKind or MedusaKind))
            throw new ModelFormatException(path, $"general.architecture is '{kind}', not a draft head ({EagleKind} or {MedusaKind}); give a model with --model");
        var tensors = file.Tensors.ToDictionary(t => t.Name);
        int vocab = m.PositiveInt(GgufKeys.VocabSize(kind));
        var identity = new BaseModelIdentity(m.OptionalString(BaseModelName), vocab, m.OptionalString(TokenHashKey(kind)));
        int hidden = m.PositiveInt(GgufKeys.EmbeddingLength(kind));
        if (kind == EagleKind)
        {
            int[]? draftVocab = tensors.Remove(DraftVocabTensor, out WeightTensor? d2t) ? ReadDraftVocab(d2t, vocab, path) : null;
            int heads = m.PositiveInt(GgufKeys.HeadCount(kind));
            int kvHeads = m.OptionalPositiveInt(GgufKeys.HeadCountKv(kind)) ?? heads;
            int blocks = m.PositiveInt(GgufKeys.BlockCount(kind));
            if (blocks != 1) throw new ModelFormatException(path, $"{GgufKeys.BlockCount(kind)} is {blocks}; an EAGLE head has one block");
            var config = EagleConfig(path, vocab, hidden, m.PositiveInt(GgufKeys.FeedForwardLength(kind)), heads, kvHeads,
                m.OptionalPositiveInt(GgufKeys.KeyLength(kind)), m.PositiveInt(GgufKeys.ContextLength(kind)),
                m.Float(GgufKeys.RmsEpsilon(kind)), m.OptionalFloat(GgufKeys.RopeFreqBase(kind)) ?? 10000f, RopeStyle.Normal);
            HeadTensors.Check(HeadTensors.Eagle(config), tensors, path, n => n, torchOrder: false);
            return new HeadFile(path, $"GGUF v{file.Header.Version}", kind, identity, config, null, tensors, file.Metadata, [file], draftVocab);
        }
        var medusa = new MedusaConfig(m.PositiveInt(MedusaHeadCount), m.PositiveInt(GgufKeys.BlockCount(kind)), hidden, vocab,
            tensors.ContainsKey(TensorNames.MedusaOutput(0)));
        HeadTensors.Check(HeadTensors.Medusa(medusa), tensors, path, n => n, torchOrder: false);
        return new HeadFile(path, $"GGUF v{file.Header.Version}", kind, identity, null, medusa, tensors, file.Metadata, [file]);
    }

    /// <summary>The d2t tensor's ids: I64 [N], N ≤ <paramref name="vocab"/>, each a distinct id below it.</summary>
    private static unsafe int[] ReadDraftVocab(WeightTensor d2t, int vocab, string path)
    {
        if (d2t.Type != GgmlType.I64 || d2t.Dims.Length != 1 || d2t.Dims[0] > vocab)
            throw new ModelFormatException(path, $"tensor {DraftVocabTensor} is {d2t.Type} [{string.Join(", ", d2t.Dims)}]; a draft vocabulary is I64 [at most {vocab}] (target token ids)");
        var ids = new int[d2t.Dims[0]];
        var seen = new bool[vocab];
        var values = new ReadOnlySpan<long>((void*)d2t.Data, ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            if ((ulong)values[i] >= (ulong)vocab || seen[values[i]])
                throw new ModelFormatException(path, $"tensor {DraftVocabTensor}[{i}] = {values[i]} is {((ulong)values[i] >= (ulong)vocab ? $"outside the vocabulary of {vocab}" : "a repeated token")}");
            seen[values[i]] = true;
            ids[i] = (int)values[i];
        }
        return ids;
    }

    /// <summary>An EAGLE head's block as a <see cref="ModelConfig"/>, its sizes checked.</summary>
    internal static ModelConfig EagleConfig(string path, int vocab, int hidden, int ffn, int heads, int kvHeads, int? headDim,
        int context, float eps, float theta, RopeStyle rope)
    {
        if (heads % kvHeads != 0) throw new ModelFormatException(path, $"{heads} attention heads cannot be grouped over {kvHeads} KV heads");
        int dim = headDim ?? (hidden % heads == 0 ? hidden / heads
            : throw new ModelFormatException(path, $"hidden size {hidden} is not a multiple of {heads} heads"));
        if (dim % 2 != 0) throw new ModelFormatException(path, $"head dimension {dim} is odd; RoPE needs pairs");
        if (!(eps > 0)) throw new ModelFormatException(path, "rms_norm_eps must be positive");
        return new ModelConfig
        {
            Architecture = EagleKind, VocabSize = vocab, HiddenSize = hidden, IntermediateSize = ffn, LayerCount = 1,
            HeadCount = heads, KvHeadCount = kvHeads, HeadDim = dim, ContextLength = context, RmsNormEps = eps,
            RopeTheta = theta, RopeStyle = rope,
        };
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (IDisposable f in _files) f.Dispose();
    }
}
