using System.Runtime.InteropServices;
using SpecDec.Formats;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Tests.Formats;

/// <summary>
/// Builds small GGUF models the way llama.cpp's converter lays them out (keys and tensor names), with
/// seeded random F32 weights, for config and tensor tests. Edit hooks let a test break one thing.
/// </summary>
public sealed class TinyGguf
{
    public string Arch { get; init; } = "llama";
    public int Hidden { get; init; } = 64;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int? KeyLength { get; init; }
    public int Intermediate { get; init; } = 96;
    public int Layers { get; init; } = 2;
    public int Vocab { get; init; } = 40;
    public bool WriteVocabSizeKey { get; init; } = true;
    public bool Tied { get; init; }
    public bool Bias { get; init; }
    public bool QkNorm { get; init; }
    public bool RopeFreqs { get; init; }

    /// <summary>Called with each tensor's name and GGUF dims; return null to drop it, or other dims/type.</summary>
    public Func<string, long[], (long[] Dims, GgmlType Type)?>? EditTensor { get; init; }

    /// <summary>Called last with the metadata about to be written.</summary>
    public Action<Dictionary<string, object>>? EditMetadata { get; init; }

    public int HeadDim => KeyLength ?? Hidden / Heads;

    public IEnumerable<(string Name, long[] Dims)> TensorList()
    {
        var config = new ModelConfig
        {
            Architecture = Arch, VocabSize = Vocab, HiddenSize = Hidden, IntermediateSize = Intermediate, LayerCount = Layers,
            HeadCount = Heads, KvHeadCount = KvHeads, HeadDim = HeadDim, ContextLength = 1, TiedEmbeddings = Tied,
            AttentionBias = Bias, QkNorm = QkNorm,
        };
        if (RopeFreqs) yield return (TensorNames.RopeFreqs, [HeadDim / 2]);
        foreach ((string name, long[] dims) in ExpectedTensors.For(config)) yield return (name, dims);
    }

    public Dictionary<string, object> Metadata()
    {
        var m = new Dictionary<string, object>
        {
            [GgufKeys.Architecture] = Arch,
            [GgufKeys.Name] = "tiny",
            [GgufKeys.ContextLength(Arch)] = 256u,
            [GgufKeys.EmbeddingLength(Arch)] = (uint)Hidden,
            [GgufKeys.BlockCount(Arch)] = (uint)Layers,
            [GgufKeys.FeedForwardLength(Arch)] = (uint)Intermediate,
            [GgufKeys.HeadCount(Arch)] = (uint)Heads,
            [GgufKeys.HeadCountKv(Arch)] = (uint)KvHeads,
            [GgufKeys.RmsEpsilon(Arch)] = 1e-6f,
            [GgufKeys.RopeFreqBase(Arch)] = 500000f,
            [GgufKeys.RopeDimensionCount(Arch)] = (uint)HeadDim,
        };
        if (KeyLength is int k)
        {
            m[GgufKeys.KeyLength(Arch)] = (uint)k;
            m[GgufKeys.ValueLength(Arch)] = (uint)k;
        }
        if (WriteVocabSizeKey) m[GgufKeys.VocabSize(Arch)] = (uint)Vocab;
        EditMetadata?.Invoke(m);
        return m;
    }

    public void Write(string path)
    {
        var writer = new GgufWriter();
        foreach ((string key, object value) in Metadata()) writer.Add(key, value);
        var random = new Random(7);
        foreach ((string name, long[] expected) in TensorList())
        {
            (long[] dims, GgmlType type) = EditTensor is null ? (expected, GgmlType.F32) : EditTensor(name, expected) ?? default;
            if (dims is null) continue;
            long bytes = GgmlTypeInfo.ByteCount(type, dims.Aggregate(1L, (a, b) => a * b));
            var data = new byte[bytes];
            if (type == GgmlType.F32)
            {
                Span<float> values = MemoryMarshal.Cast<byte, float>(data.AsSpan());
                for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
            }
            writer.AddTensor(name, type, dims, s => s.Write(data));
        }
        writer.Write(path);
    }

    public byte[] Bytes()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tiny.gguf");
        Write(path);
        return File.ReadAllBytes(path);
    }
}
