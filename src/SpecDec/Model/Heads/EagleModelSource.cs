using SpecDec.Tensors;
using SpecDec.Tokenization;

namespace SpecDec.Model.Heads;

/// <summary>
/// An EAGLE head as a model a backend can run (<see cref="ModelConfig.IsEagleHead"/>): the head's block and fc
/// from <see cref="HeadFile"/>, the embedding and output head from the target's source (shared, not copied:
/// EAGLE reads the target's own), the target's tokenizer. Positions run as far as the target's context. Owns the
/// head file; the target's source stays the target's.
/// <para>
/// With a draft vocabulary (<see cref="HeadFile.DraftVocab"/>, EAGLE-3's d2t) the output head is those tokens' rows of
/// the target's, gathered once here (N × hidden instead of V × hidden: each drafted node's logits cost N/V of the
/// full head's), and <see cref="ModelConfig.DraftVocab"/> maps a logit back to its token.
/// </para>
/// </summary>
public sealed class EagleModelSource : IModelSource
{
    private readonly HeadFile _head;
    private readonly Dictionary<string, WeightTensor> _byName;
    private readonly NativeBuffer<byte>? _draftHead; // [N rows of the target's output head] with a draft vocabulary

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
        WeightTensor output = target.Find(t.TiedEmbeddings ? TensorNames.TokenEmbedding : TensorNames.Output)!;
        if (head.DraftVocab is { } draft)
        {
            _draftHead = new NativeBuffer<byte>(draft.Count * output.RowBytes);
            _byName[TensorNames.Output] = output.Gather(TensorNames.Output, draft, _draftHead);
            Config = Config with { DraftVocab = draft, TiedEmbeddings = false };
        }
        else if (!t.TiedEmbeddings) _byName[TensorNames.Output] = output;
        Tensors = [.. _byName.Values];
    }

    public string Path => _head.Path;
    public string FormatName => _head.FormatName;
    public ModelConfig Config { get; }
    public ITokenizer Tokenizer { get; }
    public IReadOnlyList<WeightTensor> Tensors { get; }
    public IReadOnlyDictionary<string, object> Metadata => _head.Metadata;
    public WeightTensor? Find(string name) => _byName.GetValueOrDefault(name);
    public void Dispose()
    {
        _draftHead?.Dispose();
        _head.Dispose();
    }
}
