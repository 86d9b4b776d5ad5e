using SpecDec.Backends.Cpu;
using SpecDec.Model;
using SpecDec.Tensors;
using static SpecDec.Tests.Model.TinyModels;

namespace SpecDec.Tests.Model;

/// <summary>
/// The properties verifiers rely on: a batch equals token-by-token decoding, a tree batch equals each of its
/// root-to-leaf paths run causally, and a cache trimmed by Rollback/KeepRows equals a fresh prefill.
/// </summary>
public class TransformerConsistencyTests
{
    const float Tolerance = 1e-4f;
    static readonly int[] Prompt = [5, 17, 33, 2, 90, 41];

    public static TheoryData<string, GgmlType, KvCacheType> Models()
    {
        var data = new TheoryData<string, GgmlType, KvCacheType>();
        foreach (string arch in Architectures) data.Add(arch, GgmlType.F32, KvCacheType.F32);
        data.Add("llama", GgmlType.Q8_0, KvCacheType.F32);
        data.Add("qwen3", GgmlType.BF16, KvCacheType.F32);
        data.Add("qwen2", GgmlType.F16, KvCacheType.F32);
        // The integer-dot kernels, K-quants on a widened shape (TinyModels.Config): each has a 1-row and a
        // multi-row path whose results must agree bit for bit.
        data.Add("llama", GgmlType.Q4_0, KvCacheType.F32);
        data.Add("llama", GgmlType.Q4_K, KvCacheType.F32);
        data.Add("qwen2", GgmlType.Q6_K, KvCacheType.F32);
        data.Add("qwen3", GgmlType.Q4_K, KvCacheType.F32);
        // Experts read as slices of their stacked tensors, packed per expert.
        data.Add("olmoe", GgmlType.Q4_K, KvCacheType.F32);
        data.Add("mixtral", GgmlType.Q8_0, KvCacheType.F32);
        // An f16 cache: rows are rounded as they are written, before any row reads them, so the same holds.
        data.Add("llama", GgmlType.Q8_0, KvCacheType.F16);
        data.Add("qwen2", GgmlType.F32, KvCacheType.F16);
        return data;
    }

    static Transformer LoadWith(string arch, GgmlType type, KvCacheType cache)
    {
        Transformer model = Load(arch, type);
        model.CacheType = cache;
        return model;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_batch_of_8_equals_8_single_token_forwards(string arch, GgmlType type, KvCacheType cacheType)
    {
        using Transformer model = LoadWith(arch, type, cacheType);
        int[] tokens = [7, 3, 88, 14, 14, 60, 1, 25];
        int vocab = model.Config.VocabSize;

        IKvCache batched = model.CreateCache(32);
        Forward(model, batched, Prompt, Range(0, Prompt.Length));
        float[] all = Forward(model, batched, tokens, Range(Prompt.Length, 8), logitRows: Range(0, 8));

        IKvCache stepped = model.CreateCache(32);
        Forward(model, stepped, Prompt, Range(0, Prompt.Length));
        for (int i = 0; i < 8; i++)
        {
            float[] one = Forward(model, stepped, [tokens[i]], [Prompt.Length + i]);
            // Bit for bit, not merely close: greedy verification of k drafts must pick exactly the token that
            // single-token decoding would, and rounding noise in a deep model can flip a near-tie.
            Assert.True(one.AsSpan().SequenceEqual(all.AsSpan(i * vocab, vocab)), $"{arch} {type} {cacheType} cache row {i} differs from single-token decoding");
        }
        Assert.Equal(Prompt.Length + 8, batched.Length);
        Assert.Equal(batched.Length, stepped.Length);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_cache_that_grows_mid_sequence_gives_the_bits_of_one_that_did_not(string arch, GgmlType type, KvCacheType cacheType)
    {
        using Transformer model = LoadWith(arch, type, cacheType);
        int vocab = model.Config.VocabSize, n = KvCache.InitialPositions + 40;
        int[] tokens = Enumerable.Range(0, n).Select(i => (i * 37 + 5) % vocab).ToArray();
        // One forward reserves all n positions before writing any; token by token, the cache grows past 256 with
        // 256 rows in it, which must move to the new buffers unchanged.
        IKvCache whole = model.CreateCache(n);
        float[] batched = Forward(model, whole, tokens, Range(0, n), logitRows: [n - 1]);
        IKvCache grown = model.CreateCache(100_000);
        float[] last = [];
        for (int i = 0; i < n; i++) last = Forward(model, grown, tokens[i..(i + 1)], [i]);
        Assert.Equal(2 * KvCache.InitialPositions, ((KvCache)grown).Allocated);
        Assert.True(batched.AsSpan().SequenceEqual(last), $"{arch} {type} {cacheType} cache: the last row differs after the cache grew");
    }

    // A tree over 8 new rows: 0 → {1, 2}; 1 → {3, 4}; 2 → 5; 4 → 6; 6 → 7. Leaves 3, 5, 7.
    static readonly int[] TreeTokens = [11, 22, 23, 44, 45, 56, 67, 78];
    static readonly int[] TreeParents = [-1, 0, 0, 1, 1, 2, 4, 6];
    static readonly int[][] TreePaths = [[0, 1, 3], [0, 2, 5], [0, 1, 4, 6, 7]];

    static int[] Depths()
    {
        var depth = new int[TreeParents.Length];
        for (int i = 0; i < depth.Length; i++) depth[i] = TreeParents[i] < 0 ? 0 : depth[TreeParents[i]] + 1;
        return depth;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_tree_batch_equals_each_root_to_leaf_path_run_causally(string arch, GgmlType type, KvCacheType cacheType)
    {
        using Transformer model = LoadWith(arch, type, cacheType);
        // After 6 cached tokens the tree lies inside the first 64-key tile of attention; after 60 its rows run past
        // position 64, where node 5 (depth 2, position 62 on its path) sits in the next tile: the online softmax
        // must still see the path's keys as a causal run does.
        foreach (int[] prompt in new[] { Prompt, Enumerable.Range(0, 60).Select(i => (i * 37 + 5) % 90).ToArray() })
        {
            int vocab = model.Config.VocabSize, n = TreeTokens.Length;
            IKvCache cache = model.CreateCache(80);
            Forward(model, cache, prompt, Range(0, prompt.Length));
            int[] positions = Depths().Select(d => prompt.Length + d).ToArray();
            float[] tree = Forward(model, cache, TreeTokens, positions, TreeParents, Range(0, n));

            foreach (int[] path in TreePaths)
            {
                IKvCache fresh = model.CreateCache(80);
                Forward(model, fresh, prompt, Range(0, prompt.Length));
                float[] causal = Forward(model, fresh, path.Select(i => TreeTokens[i]).ToArray(),
                    Range(prompt.Length, path.Length), logitRows: Range(0, path.Length));
                for (int j = 0; j < path.Length; j++)
                    Assert.True(causal.AsSpan(j * vocab, vocab).SequenceEqual(tree.AsSpan(path[j] * vocab, vocab)),
                        $"{arch} {type} {cacheType} cache, {prompt.Length} cached: tree row {path[j]} differs from its path run causally");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void KeepRows_on_an_accepted_tree_path_then_forward_equals_a_fresh_prefill(string arch, GgmlType type, KvCacheType cacheType)
    {
        using Transformer model = LoadWith(arch, type, cacheType);
        IKvCache cache = model.CreateCache(32);
        Forward(model, cache, Prompt, Range(0, Prompt.Length));
        int[] positions = Depths().Select(d => Prompt.Length + d).ToArray();
        Forward(model, cache, TreeTokens, positions, TreeParents, Range(0, TreeTokens.Length));

        int[] accepted = TreePaths[2]; // 0, 1, 4, 6 and 7
        cache.KeepRows(Prompt.Length, accepted.Select(i => Prompt.Length + i).ToArray());
        Assert.Equal(Prompt.Length + accepted.Length, cache.Length);
        float[] next = Forward(model, cache, [9, 10], Range(cache.Length, 2), logitRows: [0, 1]);

        int[] sequence = [.. Prompt, .. accepted.Select(i => TreeTokens[i]), 9, 10];
        IKvCache fresh = model.CreateCache(32);
        float[] expected = Forward(model, fresh, sequence, Range(0, sequence.Length), logitRows: [sequence.Length - 2, sequence.Length - 1]);
        AssertClose(expected, next, Tolerance, $"{arch} {type} {cacheType} cache after KeepRows");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Rollback_then_forward_equals_a_fresh_prefill(string arch, GgmlType type, KvCacheType cacheType)
    {
        using Transformer model = LoadWith(arch, type, cacheType);
        IKvCache cache = model.CreateCache(32);
        Forward(model, cache, Prompt, Range(0, Prompt.Length));
        Forward(model, cache, [70, 71, 72, 73], Range(Prompt.Length, 4)); // a rejected draft
        cache.Rollback(Prompt.Length + 1);                                 // keep its first token
        float[] next = Forward(model, cache, [12, 13], Range(Prompt.Length + 1, 2), logitRows: [0, 1]);

        int[] sequence = [.. Prompt, 70, 12, 13];
        IKvCache fresh = model.CreateCache(32);
        float[] expected = Forward(model, fresh, sequence, Range(0, sequence.Length), logitRows: [sequence.Length - 2, sequence.Length - 1]);
        AssertClose(expected, next, Tolerance, $"{arch} {type} {cacheType} cache after Rollback");
    }

    [Fact]
    public void A_prompt_longer_than_one_pass_runs_in_chunks_with_logits_for_rows_in_any_order()
    {
        using Transformer model = Load("llama");
        int vocab = model.Config.VocabSize, n = 150;
        int[] tokens = Enumerable.Range(0, n).Select(i => (i * 37 + 11) % vocab).ToArray();
        int[] rows = [149, 3, 70, 71, 0];
        IKvCache cache = model.CreateCache(n);
        float[] batched = Forward(model, cache, tokens, Range(0, n), logitRows: rows);
        Assert.Equal(n, cache.Length);

        IKvCache stepped = model.CreateCache(n);
        var byRow = new float[n][];
        for (int i = 0; i < n; i++) byRow[i] = Forward(model, stepped, [tokens[i]], [i]);
        for (int o = 0; o < rows.Length; o++)
            AssertClose(byRow[rows[o]], batched.AsSpan(o * vocab, vocab), Tolerance, $"row {rows[o]}");
    }

    [Fact]
    public void Empty_LogitRows_means_the_last_row()
    {
        using Transformer model = Load("qwen2");
        int vocab = model.Config.VocabSize;
        float[] all = Forward(model, model.CreateCache(16), Prompt, Range(0, Prompt.Length), logitRows: Range(0, Prompt.Length));
        float[] last = Forward(model, model.CreateCache(16), Prompt, Range(0, Prompt.Length));
        Assert.Equal(all.AsSpan((Prompt.Length - 1) * vocab, vocab).ToArray(), last);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        float[] Run(int threads)
        {
            using Transformer model = Load("llama", GgmlType.Q8_0, threads);
            return Forward(model, model.CreateCache(16), Prompt, Range(0, Prompt.Length), logitRows: Range(0, Prompt.Length));
        }
        Assert.Equal(Run(1), Run(3));
    }
}
