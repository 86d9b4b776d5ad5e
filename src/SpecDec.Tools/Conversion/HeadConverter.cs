using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Model.Heads;
using SpecDec.Tensors;

namespace SpecDec.Tools.Conversion;

/// <summary>
/// A draft head (EAGLE or Medusa, in the reference layouts or already GGUF) → GGUF, in the style of llama.cpp's
/// files: general.architecture "eagle" or "medusa", the llama-style &lt;arch&gt;.* sizes (an EAGLE head's block is
/// written by <see cref="GgufModelMetadata"/> like a one-layer llama), the base model's name
/// (general.base_model.0.name) and, when the base model is given, its vocabulary fingerprint
/// (&lt;arch&gt;.base_model.token_hash), so a head for another model is refused on load. Q/K rows of an EAGLE head
/// saved in Hugging Face's rotate-half order are permuted as <see cref="GgufConverter"/> permutes a llama's.
/// Matrices take the chosen type; vectors (biases, norms) stay F32. Keys: models/README.md.
/// </summary>
public static class HeadConverter
{
    /// <param name="baseModel">The model the head was trained for (GGUF or folder), to record and check its vocabulary; optional.</param>
    /// <param name="draftVocab">
    /// For an EAGLE head: a reduced draft vocabulary to record (the d2t tensor, <see cref="DraftVocabulary"/>), replacing
    /// any the head has; null keeps the head's own.
    /// </param>
    public static void Convert(string source, string output, GgmlType weightType, string? baseModel, Action<string>? log = null,
        CancellationToken cancel = default, IReadOnlyList<int>? draftVocab = null)
    {
        if (!GgufConverter.WeightTypes.Contains(weightType)) throw new SpecDecException($"cannot convert to {weightType}: choose one of {string.Join(", ", GgufConverter.WeightTypes)}");
        using HeadFile head = HeadFile.Open(source);
        OutputFile.CheckNotInput(output, Directory.Exists(head.Path) ? Directory.EnumerateFiles(head.Path) : [head.Path]);
        BaseModelIdentity identity = baseModel is null ? head.Base : Identify(head, baseModel);

        var writer = new GgufWriter();
        string name = System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(head.Path)));
        uint fileType = GgufFileType.Of(weightType);
        IEnumerable<(string Name, long[] Dims)> tensors;
        bool permute = false;
        if (head.Eagle is ModelConfig eagle)
        {
            int vocab = identity.VocabSize ?? eagle.VocabSize;
            GgufModelMetadata.Add(writer, eagle with { VocabSize = vocab }, name, fileType);
            tensors = HeadTensors.Eagle(eagle);
            permute = eagle.RopeStyle == RopeStyle.Neox; // a folder's rotate-half rows; a GGUF's are permuted already
        }
        else
        {
            MedusaConfig m = head.Medusa!;
            int vocab = identity.VocabSize
                ?? throw new SpecDecException($"{head.Path}: the heads' vocabulary size is not in their config; pass the base model (--base)");
            string arch = HeadFile.MedusaKind;
            writer.Add(GgufKeys.Architecture, arch);
            writer.Add("general.type", "model");
            writer.Add(GgufKeys.Name, name);
            writer.Add(GgufKeys.Alignment, (uint)GgufKeys.DefaultAlignment);
            writer.Add(HeadFile.MedusaHeadCount, (uint)m.HeadCount);
            writer.Add(GgufKeys.BlockCount(arch), (uint)m.BlockCount);
            writer.Add(GgufKeys.EmbeddingLength(arch), (uint)m.HiddenSize);
            writer.Add(GgufKeys.VocabSize(arch), (uint)vocab);
            writer.Add(GgufKeys.FileType, fileType);
            writer.Add(GgufKeys.QuantizationVersion, 2u);
            tensors = HeadTensors.Medusa(m with { VocabSize = vocab });
        }
        if (identity.Name is not null)
        {
            writer.Add(HeadFile.BaseModelCount, 1u);
            writer.Add(HeadFile.BaseModelName, identity.Name);
        }
        if (identity.TokenHash is not null) writer.Add(HeadFile.TokenHashKey(head.Kind), identity.TokenHash);
        if (draftVocab is not null && head.Eagle is null) throw new SpecDecException($"{head.Path}: a draft vocabulary applies to EAGLE heads, not Medusa heads");
        if ((draftVocab ?? head.DraftVocab) is { } d2t)
        {
            int vocab = identity.VocabSize ?? head.Eagle!.VocabSize;
            if (d2t.Count > vocab || d2t.Any(id => (uint)id >= (uint)vocab) || d2t.Distinct().Count() != d2t.Count)
                throw new SpecDecException($"the draft vocabulary must be distinct token ids below {vocab}");
            writer.AddTensor(HeadFile.DraftVocabTensor, GgmlType.I64, [d2t.Count], s =>
            {
                foreach (int id in d2t) s.Write(BitConverter.GetBytes((long)id));
            });
            log?.Invoke($"{HeadFile.DraftVocabTensor,-28} {GgmlType.I64,-5} [{d2t.Count}] (draft vocabulary)");
        }

        foreach ((string tensorName, _) in tensors)
        {
            WeightTensor tensor = head.Find(tensorName)!; // HeadFile.Open checked every expected tensor
            GgmlType type = tensor.Dims.Length == 1 ? GgmlType.F32
                : weightType == GgmlType.Q8_0 && tensor.RowLength % GgmlTypeInfo.BlockSize(GgmlType.Q8_0) != 0 ? GgmlType.F16 : weightType;
            int[]? order = permute ? Permutation(tensorName, tensor, head.Eagle!) : null;
            writer.AddTensor(tensorName, type, tensor.Dims, s => TensorTranscoder.Write(tensor, type, order, s));
            log?.Invoke($"{tensorName,-28} {type,-5} [{string.Join(", ", tensor.Dims)}]{(order is null ? "" : " (q/k rows permuted)")}");
        }
        writer.Write(output, cancel);
    }

    /// <summary>The base model's identity, checked against the head's sizes.</summary>
    private static BaseModelIdentity Identify(HeadFile head, string baseModel)
    {
        using IModelSource b = ModelSource.Open(baseModel);
        string baseName = b.Metadata.GetValueOrDefault(GgufKeys.Name) as string
            ?? System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(b.Path)));
        if (head.HiddenSize != b.Config.HiddenSize)
            throw new SpecDecException($"{head.Path}: the head's hidden size is {head.HiddenSize} but the base model's ({baseModel}) is {b.Config.HiddenSize}");
        if (head.Base.VocabSize is int v && v != b.Config.VocabSize)
            throw new SpecDecException($"{head.Path}: the head scores {v} tokens but the base model ({baseModel}) has {b.Config.VocabSize}");
        return new BaseModelIdentity(head.Base.Name ?? baseName, b.Config.VocabSize, BaseModelIdentity.HashOf(b.Tokenizer));
    }

    private static int[]? Permutation(string name, WeightTensor tensor, ModelConfig c) =>
        name == TensorNames.AttnQ(0) ? QkPermutation.SourceRows((int)tensor.RowCount, c.HeadCount)
        : name == TensorNames.AttnK(0) ? QkPermutation.SourceRows((int)tensor.RowCount, c.KvHeadCount)
        : null;
}
