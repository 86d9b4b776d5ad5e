using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Model.Heads;

/// <summary>
/// An EAGLE head as a model a backend can run (<see cref="ModelConfig.IsEagleHead"/>): the head's block and fc
/// from <see cref="HeadFile"/>, the embedding and output head from the target's source (shared, not copied:
/// EAGLE reads the target's own), the target's tokenizer. Positions run as far as the target's context. Owns the
/// head file; the target's source stays the target's.
/// </summary>
public sealed class EagleModelSource : IModelSource
{
    private readonly HeadFile _head;
    private readonly Dictionary<string, WeightTensor> _byName;

    /// <summary>Checks the head against the target (hidden size, vocabulary, base model) first.</summary>
    public EagleModelSource(HeadFile head, IModelSource target)
    {
        if (head.Eagle is null) throw new SpecDecException($"{head.Path} holds {head.Kind} heads, not an EAGLE head");
        _head = head;
        ModelConfig t = target.Config;
        Config = head.Eagle with { VocabSize = t.VocabSize, TiedEmbeddings = t.TiedEmbeddings, ContextLength = t.ContextLength };
        Tokenizer = target.Tokenizer;
        _byName = head.Tensors.ToDictionary(w => w.Name);
        _byName[TensorNames.TokenEmbedding] = target.Find(TensorNames.TokenEmbedding)!;
        if (!t.TiedEmbeddings) _byName[TensorNames.Output] = target.Find(TensorNames.Output)!;
        Tensors = [.. _byName.Values];
    }

    public string Path => _head.Path;
    public string FormatName => _head.FormatName;
    public ModelConfig Config { get; }
    public ITokenizer Tokenizer { get; }
    public IReadOnlyList<WeightTensor> Tensors { get; }
    public IReadOnlyDictionary<string, object> Metadata => _head.Metadata;
    public WeightTensor? Find(string name) => _byName.GetValueOrDefault(name);
    public void Dispose() => _head.Dispose();
}
