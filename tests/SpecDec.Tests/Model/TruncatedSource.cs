using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Model;

/// <summary>A model source that shows only the first <c>layers</c> blocks of another: a model built with fewer layers over the same tensors.</summary>
internal sealed class TruncatedSource(IModelSource inner, int layers) : IModelSource
{
    public string Path => inner.Path;
    public string FormatName => inner.FormatName;
    public ModelConfig Config { get; } = inner.Config with
    {
        LayerCount = layers,
        SlidingLayers = inner.Config.SlidingLayers.Count == 0 ? [] : [.. inner.Config.SlidingLayers.Take(layers)],
    };
    public ITokenizer Tokenizer => inner.Tokenizer;
    public IReadOnlyList<WeightTensor> Tensors => inner.Tensors;
    public IReadOnlyDictionary<string, object> Metadata => inner.Metadata;
    public WeightTensor? Find(string name) => inner.Find(name);
    public void Dispose() => inner.Dispose();
}
