using SpecDec.Backends.Cpu;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Synthetic;
using static SpecDec.Tests.Model.TinyModels;

namespace SpecDec.Tests.Model;

/// <summary>
/// The forward's other inputs against the forms they generalise: embedding rows instead of token ids, an
/// explicit visibility mask instead of parents, a layer range instead of the whole stack. Each runs after a
/// prefill, so the cached rows take part too; every comparison is bit for bit (same kernels, same order).
/// </summary>
public class ForwardInputsTests
{
    static readonly int[] Prompt = [5, 17, 33, 2, 90, 41];
    static readonly int[] Tokens = [7, 64, 12, 3, 50];
    static readonly int[] Parents = [-1, 0, 0, 1, -1];

    public static TheoryData<string, GgmlType> Models()
    {
        var data = new TheoryData<string, GgmlType>();
        foreach (string arch in Architectures) data.Add(arch, GgmlType.F32);
        data.Add("llama", GgmlType.Q8_0);
        data.Add("qwen2", GgmlType.Q4_K);
        return data;
    }

    /// <summary>Prefills <see cref="Prompt"/>, then runs <paramref name="batch"/> and returns every row's logits.</summary>
    static float[] AfterPrompt(ILanguageModel model, ForwardBatch batch)
    {
        IKvCache cache = model.CreateCache(32);
        Forward(model, cache, Prompt, Range(0, Prompt.Length));
        var logits = new float[batch.Count * model.Config.VocabSize];
        model.Forward(batch with { LogitRows = Range(0, batch.Count) }, cache, logits);
        return logits;
    }

    static int[] Positions => Range(Prompt.Length, Tokens.Length);

    [Theory]
    [MemberData(nameof(Models))]
    public unsafe void Embedding_rows_in_give_what_their_tokens_give(string arch, GgmlType type)
    {
        using Transformer model = Load(arch, type);
        int hidden = model.Config.HiddenSize;
        WeightTensor table = model.Weights.Embedding;
        var rows = new float[Tokens.Length * hidden];
        fixed (float* p = rows)
            for (int i = 0; i < Tokens.Length; i++)
                Dequantize.Row(table.Type, (byte*)table.Data + Tokens[i] * table.RowBytes, p + i * hidden, hidden, SimdLevel.Scalar);

        float[] byToken = AfterPrompt(model, new ForwardBatch { Tokens = Tokens, Positions = Positions, Parents = Parents });
        float[] byEmbedding = AfterPrompt(model, new ForwardBatch { Embeddings = rows, Positions = Positions, Parents = Parents });
        Assert.Equal(byToken, byEmbedding);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_mask_of_a_trees_ancestors_gives_the_trees_logits(string arch, GgmlType type)
    {
        using Transformer model = Load(arch, type);
        var mask = new ulong[Parents.Length];
        for (int i = 0; i < mask.Length; i++) mask[i] = 1UL << i | (Parents[i] >= 0 ? mask[Parents[i]] : 0);
        int[] depths = [6, 7, 7, 8, 6];

        float[] tree = AfterPrompt(model, new ForwardBatch { Tokens = Tokens, Positions = depths, Parents = Parents });
        float[] masked = AfterPrompt(model, new ForwardBatch { Tokens = Tokens, Positions = depths, Mask = mask });
        Assert.Equal(tree, masked);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void The_full_layer_range_is_the_normal_forward(string arch, GgmlType type)
    {
        using Transformer model = Load(arch, type);
        float[] normal = AfterPrompt(model, ForwardBatch.Causal(Tokens, Positions));
        float[] ranged = AfterPrompt(model, ForwardBatch.Causal(Tokens, Positions) with { FirstLayer = 0, Layers = model.Config.LayerCount });
        Assert.Equal(normal, ranged);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void The_first_k_layers_are_a_model_built_with_k_layers(string arch, GgmlType type)
    {
        using Transformer model = Load(arch, type);
        using Transformer shallow = Transformer.Load(
            new TruncatedSource(new SyntheticModelSource(Config(arch, type), type, seed: 1), layers: 1), threads: 2);
        IKvCache cache = model.CreateCache(32), shallowCache = shallow.CreateCache(32);
        var expected = new float[Prompt.Length * model.Config.VocabSize];
        var actual = new float[expected.Length];
        foreach (var (tokens, positions) in new[] { (Prompt, Range(0, Prompt.Length)), (Tokens, Positions) })
        {
            var batch = ForwardBatch.Causal(tokens, positions) with { LogitRows = Range(0, tokens.Length) };
            shallow.Forward(batch, shallowCache, expected);
            model.Forward(batch with { Layers = 1 }, cache, actual);
        }
        Assert.Equal(expected, actual);
    }

    /// <summary>Layers [0, k) capturing the residual stream, then [k, L) from it as embeddings: the whole stack.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void Two_layer_ranges_chained_through_the_hidden_state_give_the_full_forward(string arch, GgmlType type)
    {
        using Transformer model = Load(arch, type);
        int n = Prompt.Length, hidden = model.Config.HiddenSize;
        var hiddenAfterFirst = new float[n * hidden];
        var logits = new float[model.Config.VocabSize];
        var full = new float[logits.Length];
        model.Forward(ForwardBatch.Causal(Prompt, Range(0, n)) with { Layers = 1, HiddenLayers = [0], Hidden = hiddenAfterFirst },
            model.CreateCache(16), logits);
        model.Forward(new ForwardBatch { Embeddings = hiddenAfterFirst, Positions = Range(0, n), FirstLayer = 1 }, model.CreateCache(16), logits);
        model.Forward(ForwardBatch.Causal(Prompt, Range(0, n)), model.CreateCache(16), full);
        Assert.Equal(full, logits);
    }

    [Fact]
    public void Malformed_masks_inputs_and_ranges_are_refused()
    {
        using Transformer model = Load("llama");
        IKvCache cache = model.CreateCache(80);
        var logits = new float[model.Config.VocabSize];
        int[] two = [1, 2], at = [0, 1];
        Assert.Throws<ArgumentException>(() => model.Forward(new ForwardBatch { Tokens = two, Positions = at, Mask = [0b1, 0b111] }, cache, logits));
        Assert.Throws<ArgumentException>(() => model.Forward(new ForwardBatch { Tokens = two, Positions = at, Mask = [0b1, 0b01] }, cache, logits));
        Assert.Throws<ArgumentException>(() => model.Forward(new ForwardBatch { Tokens = two, Positions = at, Mask = [0b1, 0b11], Parents = [-1, 0] }, cache, logits));
        Assert.Throws<ArgumentException>(() => model.Forward(new ForwardBatch { Positions = at }, cache, logits));
        Assert.Throws<ArgumentException>(() => model.Forward(new ForwardBatch { Tokens = two, Embeddings = new float[2 * 64], Positions = at }, cache, logits));
        Assert.Throws<ArgumentException>(() => model.Forward(new ForwardBatch { Embeddings = new float[64], Positions = at }, cache, logits));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(ForwardBatch.Causal(two, at) with { FirstLayer = 2 }, cache, logits));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(ForwardBatch.Causal(two, at) with { FirstLayer = 1, Layers = 2 }, cache, logits));
        int[] many = Range(0, ForwardBatch.MaxRows + 1);
        Assert.Throws<ArgumentException>(() => model.Forward(new ForwardBatch { Tokens = many, Positions = many, Mask = new ulong[many.Length] }, cache, logits));
        Assert.Equal(0, cache.Length);
    }
}
