using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Model;

/// <summary>
/// A GGUF file as an <see cref="IModelSource"/>: config from the `&lt;arch&gt;.*` keys, tensors checked
/// against it and against <see cref="RunnableTypes"/> on open, tokenizer built from `tokenizer.ggml.*` on
/// first use.
/// </summary>
public sealed class GgufModelSource : IModelSource
{
    private readonly GgufFile _file;
    private readonly Dictionary<string, WeightTensor> _byName;
    private readonly Lazy<ITokenizer> _tokenizer;

    private GgufModelSource(GgufFile file, ModelConfig config)
    {
        _file = file;
        Config = config;
        _byName = file.Tensors.ToDictionary(t => t.Name);
        _tokenizer = new Lazy<ITokenizer>(() => TokenizerFit.Checked(TokenizerFactory.FromGgufMetadata(file.Metadata, file.Path), config, file.Path));
    }

    public string Path => _file.Path;
    public string FormatName => $"GGUF v{_file.Header.Version}";
    public ModelConfig Config { get; }
    public ITokenizer Tokenizer => _tokenizer.Value;
    public IReadOnlyList<WeightTensor> Tensors => _file.Tensors;
    public IReadOnlyDictionary<string, object> Metadata => _file.Metadata;
    public GgufHeader Header => _file.Header;

    public WeightTensor? Find(string name) => _byName.GetValueOrDefault(name);

    public static GgufModelSource Open(string path)
    {
        GgufFile file = GgufFile.Open(path);
        try
        {
            ModelConfig config = ReadConfig(file.Header, path);
            RunnableTypeCheck.Check(file.Tensors, path);
            return new GgufModelSource(file, config);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Config from a parsed header, with every tensor the config implies present in its shape.</summary>
    internal static ModelConfig ReadConfig(GgufHeader header, string path)
    {
        ModelConfig config = GgufConfigReader.Read(header, path);
        var dims = header.Tensors.ToDictionary(t => t.Name, t => t.Dims);
        ExpectedTensors.Check(config, dims, path);
        return config;
    }

    public void Evict(WeightTensor tensor) => _file.Evict(tensor);

    public void Dispose() => _file.Dispose();
}
