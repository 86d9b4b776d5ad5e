using SpecDec.Model;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Generation;

/// <summary>
/// A small but real language model for loop tests: the logits of the token after (…, a, b) at position t are
/// a fixed pseudo-random function of (a, b, t). Cheap enough to enumerate exact sequence probabilities, and it
/// honours the whole Forward contract: causal or tree parents, LogitRows, positions checked against the
/// cache, a cache that records its tokens and supports Rollback and KeepRows.
/// </summary>
internal sealed class NGramTestModel : ILanguageModel
{
    private readonly ulong _seed;
    private readonly float _scale;
    private readonly float _positionScale;
    private readonly ulong _noiseSeed;
    private readonly float _noiseScale;

    /// <param name="scale">Spread of the bigram logits: larger means a more confident model.</param>
    /// <param name="positionScale">Spread of the position-dependent part.</param>
    /// <param name="noiseSeed">With <paramref name="noiseScale"/>: a second bigram table added on top, so a
    /// draft can be the same model plus noise.</param>
    public NGramTestModel(ITokenizer tokenizer, ulong seed, float scale = 3f, float positionScale = 0.5f,
        ulong noiseSeed = 0, float noiseScale = 0f, int contextLength = 4096)
    {
        Tokenizer = tokenizer;
        _seed = seed;
        _scale = scale;
        _positionScale = positionScale;
        _noiseSeed = noiseSeed;
        _noiseScale = noiseScale;
        Config = new ModelConfig
        {
            Architecture = "ngram-test",
            VocabSize = tokenizer.VocabSize,
            HiddenSize = 1,
            IntermediateSize = 1,
            LayerCount = 1,
            HeadCount = 1,
            KvHeadCount = 1,
            HeadDim = 1,
            ContextLength = contextLength,
        };
    }

    public ModelConfig Config { get; }
    public ITokenizer Tokenizer { get; }

    /// <summary>Every cache this model created, in order.</summary>
    public List<NGramTestCache> Caches { get; } = [];

    /// <summary>Forward calls so far.</summary>
    public int Forwards { get; private set; }

    /// <summary>Its cache stores one token id per position.</summary>
    public long CacheBytes(long positions) => positions * sizeof(int);

    public IKvCache CreateCache(int capacity)
    {
        var cache = new NGramTestCache(capacity);
        Caches.Add(cache);
        return cache;
    }

    /// <summary>Logits [V] of the token at <paramref name="position"/> after tokens a, b (−1: none).</summary>
    public void Logits(int a, int b, int position, Span<float> logits)
    {
        for (int t = 0; t < logits.Length; t++)
        {
            float value = _scale * Unit(_seed, a, b, t) + _positionScale * Unit(_seed ^ 0x5bd1e995UL, position, -2, t);
            if (_noiseScale != 0) value += _noiseScale * Unit(_noiseSeed, a, b, t);
            logits[t] = value;
        }
    }

    public void Forward(in ForwardBatch batch, IKvCache cache, Span<float> logits)
    {
        var c = (NGramTestCache)cache;
        int n = batch.Tokens.Length;
        if (n == 0) throw new ArgumentException("empty batch");
        if (c.Length + n > c.Capacity) throw new InvalidOperationException($"cache overflow: {c.Length} + {n} > {c.Capacity}");
        int v = Config.VocabSize;
        Span<int> depth = stackalloc int[n];
        for (int i = 0; i < n; i++)
        {
            int parent = Parent(batch, i);
            depth[i] = parent < 0 ? 0 : depth[parent] + 1;
            if (batch.Positions[i] != c.Length + depth[i])
                throw new InvalidOperationException($"row {i} has position {batch.Positions[i]}, expected {c.Length + depth[i]}");
            if ((uint)batch.Tokens[i] >= (uint)v) throw new ArgumentException($"token {batch.Tokens[i]} out of range");
        }

        int rows = batch.LogitRows.IsEmpty ? 1 : batch.LogitRows.Length;
        for (int r = 0; r < rows; r++)
        {
            int i = batch.LogitRows.IsEmpty ? n - 1 : batch.LogitRows[r];
            int b = batch.Tokens[i];
            int parent = Parent(batch, i);
            int a = parent >= 0 ? batch.Tokens[parent] : c.Length > 0 ? c.Tokens[c.Length - 1] : -1;
            Logits(a, b, batch.Positions[i] + 1, logits.Slice(r * v, v));
        }
        c.Append(batch.Tokens);
        Forwards++;
    }

    private static int Parent(in ForwardBatch batch, int i) => batch.Parents.IsEmpty ? i - 1 : batch.Parents[i];

    /// <summary>Uniform in [−1, 1) from a hash of the arguments.</summary>
    private static float Unit(ulong seed, int a, int b, int t)
    {
        ulong h = seed;
        h = Mix(h ^ (uint)(a + 7));
        h = Mix(h ^ ((ulong)(uint)(b + 7) << 20));
        h = Mix(h ^ ((ulong)(uint)t << 40));
        return (float)((h >> 40) * (2.0 / (1UL << 24)) - 1.0);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public void Dispose() { }
}
