using SpecDec.Backends.Cpu;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Model.Heads;
using static SpecDec.Tests.Heads.HeadFixtures;

namespace SpecDec.Tests.Heads;

/// <summary>
/// The heads loaded from the training script's safetensors layouts compute what PyTorch computed
/// (reference.json, fp32 on the bf16 weights): the target's final-normed features, the EAGLE head's predicted
/// features and tokens (rows over its own cache, and a greedy chain fed its own features), each Medusa head's
/// tokens.
/// </summary>
public sealed class HeadReferenceTests
{
    private static readonly Reference Ref = LoadReference();

    [Fact]
    public void TheTargetHandsOverItsFinalNormedFeatures()
    {
        using var target = LoadTarget();
        int n = Ref.InputIds.Length, h = target.Config.HiddenSize;
        var hidden = new float[n * h];
        var logits = new float[target.Config.VocabSize];
        target.Forward(new ForwardBatch
        {
            Tokens = Ref.InputIds, Positions = Enumerable.Range(0, n).ToArray(),
            HiddenLayers = [target.Config.LayerCount], Hidden = hidden,
        }, target.CreateCache(n), logits);
        for (int p = 0; p < n; p++)
            Assert.True(RelativeError(hidden.AsSpan(p * h, h), Ref.Features[p]) < 2e-3, $"feature {p}");
        Assert.Equal(Ref.BaseNextToken, Argmax(logits));
    }

    [Fact]
    public void TheEagleHeadPredictsTheReferenceFeaturesAndTokens()
    {
        using var target = LoadTarget();
        using var head = LoadEagle(target);
        int rows = Ref.EagleFeatures.Length, h = target.Config.HiddenSize, v = target.Config.VocabSize;
        // Row p: token x_{p+1}, feature f_p, position p; causal over rows 0..p.
        float[] features = Ref.Features.Take(rows).SelectMany(f => f).ToArray();
        var hidden = new float[rows * h];
        var logits = new float[rows * v];
        IKvCache cache = head.CreateCache(64);
        head.Forward(new ForwardBatch
        {
            Tokens = Ref.InputIds.AsSpan(1, rows), Features = features, Positions = Enumerable.Range(0, rows).ToArray(),
            LogitRows = Enumerable.Range(0, rows).ToArray(), HiddenLayers = [head.Config.LayerCount], Hidden = hidden,
        }, cache, logits);
        for (int p = 0; p < rows; p++)
        {
            Assert.True(RelativeError(hidden.AsSpan(p * h, h), Ref.EagleFeatures[p]) < 5e-3, $"predicted feature {p}");
            Assert.Equal(Ref.EagleArgmax[p], Argmax(logits.AsSpan(p * v, v)));
        }

        // The greedy chain after the base's next token: row 23 = (next token, f_23), then each row its own
        // predicted feature and token, on top of rows 0..22 in the cache.
        var row = new float[h];
        Ref.Features[rows].CopyTo(row, 0);
        int token = Ref.BaseNextToken;
        var one = new float[v];
        var predicted = new float[h];
        for (int i = 0; i < Ref.EagleChain.Length; i++)
        {
            head.Forward(new ForwardBatch
            {
                Tokens = new[] { token }, Features = row, Positions = new[] { rows + i },
                HiddenLayers = [head.Config.LayerCount], Hidden = predicted,
            }, cache, one);
            token = Argmax(one);
            Assert.Equal(Ref.EagleChain[i], token);
            predicted.CopyTo(row, 0);
        }
    }

    [Fact]
    public void EachMedusaHeadPicksTheReferenceTokens()
    {
        using var target = LoadTarget();
        using var heads = LoadMedusa(target);
        int count = heads.Config.HeadCount, v = heads.VocabSize;
        var logits = new float[count * v];
        for (int p = 0; p < Ref.Features.Length; p++)
        {
            heads.Forward(Ref.Features[p], logits);
            for (int i = 0; i < count; i++) Assert.Equal(Ref.MedusaArgmax[i][p], Argmax(logits.AsSpan(i * v, v)));
        }
    }

    /// <summary>
    /// How the heads run beside a GPU target: on a pool of their own, reading the target's mapped weights (the
    /// EAGLE head its embedding and output head, Medusa a packed copy of its output head). Same logits as on the
    /// target's pool.
    /// </summary>
    [Fact]
    public void HeadsOnTheirOwnPoolGiveTheSameLogits()
    {
        using var target = LoadTarget();
        using var pool = new WorkerPool(2);
        int v = target.Config.VocabSize;

        using var shared = LoadMedusa(target);
        using var beside = MedusaHeads.Beside(HeadFile.Open(Medusa), target, target.Weights.OutputHead, pool);
        var expected = new float[shared.Config.HeadCount * v];
        var actual = new float[expected.Length];
        shared.Forward(Ref.Features[0], expected);
        beside.Forward(Ref.Features[0], actual);
        Assert.True(RelativeError(actual, expected) < 1e-6);

        using var head = LoadEagle(target);
        using var own = Transformer.LoadEagleHead(HeadFile.Open(Eagle), target, target.Weights, pool);
        int rows = 4, h = target.Config.HiddenSize;
        float[] features = Ref.Features.Take(rows).SelectMany(f => f).ToArray();
        var a = new float[rows * v];
        var b = new float[rows * v];
        foreach (var (model, logits) in new[] { (head, a), (own, b) })
            model.Forward(new ForwardBatch
            {
                Tokens = Ref.InputIds.AsSpan(1, rows), Features = features, Positions = [0, 1, 2, 3], LogitRows = [0, 1, 2, 3],
            }, model.CreateCache(16), logits);
        Assert.True(RelativeError(b, a) < 1e-6);
        Assert.Equal(Ref.EagleArgmax[3], Argmax(b.AsSpan(3 * v, v)));
    }
}
