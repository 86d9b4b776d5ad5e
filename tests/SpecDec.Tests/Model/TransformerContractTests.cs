using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tokenization;
using SpecDec.Tools.Synthetic;
using static SpecDec.Tests.Model.TinyModels;

namespace SpecDec.Tests.Model;

/// <summary>Hidden states, allocation-free decoding, and clear errors for bad files and bad requests.</summary>
public unsafe class TransformerContractTests
{
    [Fact]
    public void Forward_allocates_nothing_in_steady_state()
    {
        using Transformer model = Load("qwen3", GgmlType.Q8_0);
        IKvCache cache = model.CreateCache(64);
        var logits = new float[4 * model.Config.VocabSize];
        int[] tokens = [1, 2, 3, 4], positions = [0, 1, 1, 2], parents = [-1, 0, 0, 2], rows = [0, 1, 2, 3];
        ulong[] mask = [0b1, 0b11, 0b101, 0b1101];
        var embeddings = new float[4 * model.Config.HiddenSize];
        var batch = new ForwardBatch { Tokens = tokens, Positions = positions, Parents = parents, LogitRows = rows };
        // The other inputs: a mask, embedding rows, a layer range.
        var other = new ForwardBatch { Embeddings = embeddings, Positions = positions, Mask = mask, LogitRows = rows, FirstLayer = 1 };
        model.Forward(batch, cache, logits); // warm up
        cache.Rollback(0);
        model.Forward(other, cache, logits);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            cache.Rollback(0);
            model.Forward(batch, cache, logits);
            cache.KeepRows(1, [2]);
            model.Forward(ForwardBatch.Causal(tokens.AsSpan(0, 1), positions.AsSpan(3, 1)), cache, logits);
            cache.Rollback(0);
            model.Forward(other, cache, logits);
        }
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Hidden_states_are_the_residual_stream_and_the_final_normed_state_feeds_the_head()
    {
        using Transformer model = Load("llama");
        ModelConfig c = model.Config;
        int n = 3, h = c.HiddenSize;
        int[] layers = [c.LayerCount, 0, c.LayerCount - 1];
        var hidden = new float[layers.Length * n * h];
        var logits = new float[n * c.VocabSize];
        var batch = new ForwardBatch
        {
            Tokens = new[] { 4, 5, 6 }, Positions = new[] { 0, 1, 2 }, LogitRows = new[] { 0, 1, 2 },
            HiddenLayers = layers, Hidden = hidden,
        };
        model.Forward(batch, model.CreateCache(8), logits);

        using var source = new SyntheticModelSource(c, GgmlType.F32, seed: 1);
        float* norm = (float*)source.Find(TensorNames.OutputNorm)!.Data;
        float* head = (float*)source.Find(TensorNames.Output)!.Data;
        for (int r = 0; r < n; r++)
        {
            // Entry 0 (LayerCount) is RMSNorm(entry 2 (the last block's output)) · output_norm ...
            ReadOnlySpan<float> last = hidden.AsSpan((2 * n + r) * h, h), final = hidden.AsSpan((0 * n + r) * h, h);
            double scale = 1 / Math.Sqrt(last.ToArray().Sum(v => (double)v * v) / h + c.RmsNormEps);
            for (int i = 0; i < h; i++) Assert.True(Math.Abs(last[i] * scale * norm[i] - final[i]) <= 1e-4, $"final[{i}]");
            // ... and the logits are the output head applied to it.
            for (int t = 0; t < c.VocabSize; t++)
            {
                double dot = 0;
                for (int i = 0; i < h; i++) dot += head[(long)t * h + i] * final[i];
                Assert.True(Math.Abs(dot - logits[r * c.VocabSize + t]) <= 1e-4, $"logit {t} of row {r}");
            }
        }
        // Entry 1 is after block 0, which differs from the embedding and from the last block.
        Assert.False(hidden.AsSpan(1 * n * h, n * h).SequenceEqual(hidden.AsSpan(2 * n * h, n * h)));
    }

    [Fact]
    public void Bad_requests_are_refused_before_the_cache_changes()
    {
        using Transformer model = Load("llama");
        IKvCache cache = model.CreateCache(4);
        var logits = new float[model.Config.VocabSize];
        void Run(int[] tokens, int[] positions, int[]? parents = null, int[]? rows = null, int logitFloats = -1) =>
            model.Forward(new ForwardBatch { Tokens = tokens, Positions = positions, Parents = parents ?? [], LogitRows = rows ?? [] },
                cache, logitFloats < 0 ? logits : new float[logitFloats]);

        Assert.Throws<ArgumentException>(() => Run([], []));
        Assert.Throws<ArgumentException>(() => Run([1, 2], [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Run([96], [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Run([1], [-1]));
        Assert.Throws<ArgumentException>(() => Run([1, 2], [0, 1], parents: [-1, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Run([1, 2], [0, 1], rows: [2]));
        Assert.Throws<ArgumentException>(() => Run([1, 2], [0, 1], rows: [0, 1]));
        Assert.Throws<ArgumentException>(() => Run([1, 2, 3, 4, 5], [0, 1, 2, 3, 4]));
        using (Transformer other = Load("llama"))
            Assert.Throws<ArgumentException>(() => model.Forward(ForwardBatch.Causal([1], [0]), other.CreateCache(4), logits));
        Assert.Equal(0, cache.Length);
        Run([1, 2, 3, 4], [0, 1, 2, 3]);
        Assert.Equal(4, cache.Length);
    }

    /// <summary>A synthetic model with one tensor replaced or removed.</summary>
    sealed class Tampered(IModelSource inner, string name, WeightTensor? replacement) : IModelSource
    {
        public string Path => "/models/tampered.gguf";
        public string FormatName => inner.FormatName;
        public ModelConfig Config => inner.Config;
        public ITokenizer Tokenizer => inner.Tokenizer;
        public IReadOnlyList<WeightTensor> Tensors => inner.Tensors;
        public IReadOnlyDictionary<string, object> Metadata => inner.Metadata;
        public bool Disposed { get; private set; }
        public WeightTensor? Find(string n) => n == name ? replacement : inner.Find(n);
        public void Dispose()
        {
            Disposed = true;
            inner.Dispose();
        }
    }

    [Fact]
    public void A_missing_or_misshapen_tensor_names_the_file_and_the_tensor_and_the_source_is_disposed()
    {
        var original = new SyntheticModelSource(Config("llama"), GgmlType.F32);
        var missing = new Tampered(original, TensorNames.AttnK(1), null);
        var e = Assert.Throws<ModelFormatException>(() => Transformer.Load(missing));
        Assert.Contains("/models/tampered.gguf", e.Message);
        Assert.Contains("blk.1.attn_k.weight", e.Message);
        Assert.True(missing.Disposed);

        using var source2 = new SyntheticModelSource(Config("llama"), GgmlType.F32);
        WeightTensor k2 = source2.Find(TensorNames.AttnK(1))!;
        var wrongShape = new Tampered(source2, TensorNames.AttnK(1), new WeightTensor(k2.Name, k2.Type, [k2.Dims[1], k2.Dims[0]], k2.Data, k2.ByteLength));
        e = Assert.Throws<ModelFormatException>(() => Transformer.Load(wrongShape));
        Assert.Contains("blk.1.attn_k.weight has shape [32, 64]; the config implies [64, 32]", e.Message);
        Assert.Contains("[32, 64]", e.Message);

        var source3 = new SyntheticModelSource(Config("llama"), GgmlType.F32);
        WeightTensor k3 = source3.Find(TensorNames.AttnK(1))!;
        var iq2 = new Tampered(source3, TensorNames.AttnK(1), new WeightTensor(k3.Name, GgmlType.IQ2_XS, k3.Dims, k3.Data, k3.ByteLength));
        e = Assert.Throws<ModelFormatException>(() => Transformer.Load(iq2));
        Assert.Contains("blk.1.attn_k.weight is IQ2_XS", e.Message);
    }
}
