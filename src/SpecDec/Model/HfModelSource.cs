using System.Text.Json;
using SpecDec.Formats;
using SpecDec.Formats.HuggingFace;
using SpecDec.Formats.Safetensors;
using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Model;

/// <summary>
/// A Hugging Face folder (config.json, model.safetensors or sharded, tokenizer.json) as an
/// <see cref="IModelSource"/>. Tensors stay in the memory-mapped safetensors files under canonical names;
/// every tensor the config implies is checked on open. Q/K rows keep HF's rotate_half (Neox) order.
/// </summary>
public sealed class HfModelSource : IModelSource
{
    public const string ConfigFile = "config.json";
    public const string TokenizerFile = "tokenizer.json";

    private readonly List<SafetensorsFile> _files;
    private readonly List<NativeBuffer<float>> _derived; // tensors made from config.json (LongRoPE factors)
    private readonly Dictionary<string, WeightTensor> _byName;
    private readonly Lazy<ITokenizer> _tokenizer;

    private HfModelSource(string folder, ModelConfig config, IReadOnlyDictionary<string, object> metadata,
        List<SafetensorsFile> files, List<WeightTensor> tensors, List<NativeBuffer<float>> derived)
    {
        _derived = derived;
        Path = folder;
        Config = config;
        Metadata = metadata;
        _files = files;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name);
        string tokenizerPath = System.IO.Path.Combine(folder, TokenizerFile);
        _tokenizer = new Lazy<ITokenizer>(() => TokenizerFit.Checked(TokenizerFactory.FromTokenizerJson(tokenizerPath), config, tokenizerPath));
    }

    public string Path { get; }
    public string FormatName => _files.Count == 1 ? "safetensors" : $"safetensors ({_files.Count} shards)";
    public ModelConfig Config { get; }
    public ITokenizer Tokenizer => _tokenizer.Value;
    public IReadOnlyList<WeightTensor> Tensors { get; }

    /// <summary>config.json's top-level fields: strings, numbers (long or double), bools; objects and arrays as JSON text.</summary>
    public IReadOnlyDictionary<string, object> Metadata { get; }

    public WeightTensor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <param name="path">The folder, or its config.json.</param>
    public static HfModelSource Open(string path)
    {
        string folder = System.IO.Path.GetFileName(path) == ConfigFile ? System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))! : path;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such folder");
        string configPath = System.IO.Path.Combine(folder, ConfigFile);
        if (!File.Exists(configPath)) throw new ModelFormatException(folder, $"no {ConfigFile}: not a Hugging Face model folder");

        ModelConfig config;
        IReadOnlyDictionary<string, object> metadata;
        HfConfigReader.LongRopeFactors? longRope;
        using (JsonDocument doc = JsonFields.ParseConfig(configPath))
        {
            config = HfConfigReader.Read(doc.RootElement, configPath);
            metadata = Flatten(doc.RootElement);
            longRope = HfConfigReader.LongRope(new JsonFields(configPath), doc.RootElement, config.ContextLength);
        }

        (IReadOnlyList<string> paths, IReadOnlyDictionary<string, string>? weightMap) = HfWeightFiles.Find(folder);
        var files = new List<SafetensorsFile>();
        var derived = new List<NativeBuffer<float>>();
        try
        {
            foreach (string p in paths) files.Add(SafetensorsFile.Open(p));
            List<WeightTensor> tensors = Canonicalize(files, weightMap, config, folder);
            if (longRope is not null)
            {
                // As llama.cpp's converter writes them: F32 tensors of per-frequency divisors.
                tensors.Add(Derived(TensorNames.RopeFactorsLong, longRope.Long, derived));
                tensors.Add(Derived(TensorNames.RopeFactorsShort, longRope.Short, derived));
            }
            var dims = tensors.ToDictionary(t => t.Name, t => t.Dims);
            ExpectedTensors.Check(config, dims, folder, n => HfTensorNames.ToHf(n, config.Architecture), torchOrder: true);
            RunnableTypeCheck.Check(tensors, folder);
            return new HfModelSource(folder, config, metadata, files, tensors, derived);
        }
        catch
        {
            foreach (SafetensorsFile f in files) f.Dispose();
            foreach (NativeBuffer<float> b in derived) b.Dispose();
            throw;
        }
    }

    private static unsafe WeightTensor Derived(string name, float[] values, List<NativeBuffer<float>> owner)
    {
        var buffer = new NativeBuffer<float>(values.Length);
        owner.Add(buffer);
        values.CopyTo(buffer.Span);
        return new WeightTensor(name, GgmlType.F32, [values.Length], (nint)buffer.Pointer, values.Length * 4L);
    }

    /// <summary>All shards' tensors under canonical names; a tied checkpoint's lm_head copy is dropped.</summary>
    private static List<WeightTensor> Canonicalize(List<SafetensorsFile> files, IReadOnlyDictionary<string, string>? weightMap,
        ModelConfig config, string folder)
    {
        var tensors = new List<WeightTensor>();
        var seen = new Dictionary<string, string>();
        foreach (SafetensorsFile file in files)
        {
            foreach (WeightTensor t in file.Tensors)
            {
                if (weightMap is not null && (!weightMap.TryGetValue(t.Name, out string? shard) || shard != System.IO.Path.GetFileName(file.Path)))
                    throw new ModelFormatException(file.Path, $"tensor {t.Name} is not listed for this shard in {HfWeightFiles.Index}");
                if (HfTensorNames.IsIgnorable(t.Name)) continue;
                string canonical = HfTensorNames.ToCanonical(t.Name, config.Architecture)
                    ?? throw new ModelFormatException(file.Path, $"unexpected tensor {t.Name} for {config.Architecture}");
                if (!seen.TryAdd(canonical, t.Name))
                    throw new ModelFormatException(file.Path, $"tensor {t.Name} duplicates {seen[canonical]}");
                if (canonical == TensorNames.Output && config.TiedEmbeddings) continue;
                tensors.Add(new WeightTensor(canonical, t.Type, t.Dims, t.Data, t.ByteLength));
            }
        }
        if (weightMap is not null)
        {
            foreach ((string name, string shard) in weightMap)
            {
                if (!files.Exists(f => System.IO.Path.GetFileName(f.Path) == shard && f.Find(name) is not null))
                    throw new ModelFormatException(folder, $"{HfWeightFiles.Index} puts {name} in {shard}, which does not hold it");
            }
        }
        return tensors;
    }

    /// <summary>A config.json's top-level fields for display: strings, numbers, bools; objects and arrays as JSON text.</summary>
    internal static Dictionary<string, object> Flatten(JsonElement root)
    {
        var result = new Dictionary<string, object>();
        foreach (JsonProperty p in root.EnumerateObject())
        {
            result[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.Number => p.Value.TryGetInt64(out long l) ? l : p.Value.GetDouble(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => p.Value.GetRawText(),
            };
        }
        return result;
    }

    public void Dispose()
    {
        foreach (SafetensorsFile f in _files) f.Dispose();
        foreach (NativeBuffer<float> b in _derived) b.Dispose();
    }
}
