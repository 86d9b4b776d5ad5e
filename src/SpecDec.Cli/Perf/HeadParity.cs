using SpecDec.Backends.Cpu;
using SpecDec.Backends.Cuda;
using SpecDec.Model;
using SpecDec.Model.Heads;
using static SpecDec.Cli.Perf.BackendParity;

namespace SpecDec.Cli.Perf;

/// <summary>
/// `specdec parity --head PATH`: an EAGLE head on the CPU and on the GPU beside the same target, fed what
/// <see cref="Speculation.EagleProposer"/> feeds it. The target's own final-normed states of a prompt (from the CPU
/// target), the head's catch-up over them in chunks of up to 64 rows, then a dynamic tree drafted level by level
/// (each backend expanding its own top-k with its own predicted features, the frontier and its ancestors as one
/// batch, logits of the frontier rows only): logits and predicted states within the tolerance, and the same drafted
/// tokens at every level. On the GPU alone, bit for bit: a level replayed as a graph equals it kernel by kernel, and
/// logits of the frontier rows equal those of every row.
/// </summary>
internal static class HeadParity
{
    const int Prompt = 80, Depth = 4, TopK = 4;

    public static Result Run(string targetPath, string headPath, CudaDevice gpu, Action<string> log)
    {
        using var target = Transformer.Load(ModelSource.Open(targetPath));
        using var gpuTarget = CudaTransformer.Load(ModelSource.Open(targetPath), gpu);
        using var cpu = Transformer.LoadEagleHead(HeadFile.Open(headPath), target);
        using var cuda = CudaTransformer.LoadEagleHead(HeadFile.Open(headPath), gpuTarget);
        ModelConfig c = cpu.Config;
        int H = c.HiddenSize, L = c.LogitCount;
        var checks = new List<Check>();
        var rng = new Random(11);
        int[] prompt = Enumerable.Range(0, Prompt).Select(_ => rng.Next(Math.Min(c.VocabSize, 32000))).ToArray();

        log("target features");
        var features = new float[Prompt * H];
        IKvCache targetCache = target.CreateCache(Prompt);
        target.Forward(new ForwardBatch { Tokens = prompt, Positions = Range(0, Prompt), HiddenLayers = [target.Config.LayerCount], Hidden = features },
            targetCache, new float[target.Config.VocabSize]);
        ((IDisposable)targetCache).Dispose();

        // Catch-up: row t = (x_{t+1}, f_t) at position t, in chunks of 64 as the proposer feeds them.
        log("catch-up");
        IKvCache a = cpu.CreateCache(256), b = cuda.CreateCache(256);
        int fed = Prompt - 1;
        var la = new float[ForwardBatch.MaxRows * L];
        var lb = new float[la.Length];
        var sa = new float[ForwardBatch.MaxRows * H];
        var sb = new float[sa.Length];
        int[] one = [1];
        for (int at = 0; at < fed; at += ForwardBatch.MaxRows)
        {
            int rows = Math.Min(ForwardBatch.MaxRows, fed - at);
            var batch = new ForwardBatch
            {
                Tokens = prompt.AsSpan(at + 1, rows), Features = features.AsSpan(at * H, rows * H), Positions = Range(at, rows), HiddenLayers = one,
            };
            cpu.Forward(batch with { Hidden = sa }, a, la);
            cuda.Forward(batch with { Hidden = sb }, b, lb);
            checks.Add(new Check($"head catch-up, {rows} rows: logits of the last", Relative(la[..L], lb[..L]), SameTop(la, lb, 0, L)));
            checks.Add(new Check($"head catch-up, {rows} rows: predicted states", Relative(sa[..(rows * H)], sb[..(rows * H)]), true));
        }
        float[] rootA = sa.AsSpan((fed - 1 - (fed - 1) / ForwardBatch.MaxRows * ForwardBatch.MaxRows) * H, H).ToArray();
        float[] rootB = sb.AsSpan((fed - 1 - (fed - 1) / ForwardBatch.MaxRows * ForwardBatch.MaxRows) * H, H).ToArray();

        log("tree levels");
        var (treeA, levelA) = Draft(cpu, a, fed, la[..L], rootA, lastBatch: null);
        var (treeB, levelB) = Draft(cuda, b, fed, lb[..L], rootB, lastBatch: null);
        bool drafted = treeA.SequenceEqual(treeB);
        checks.Add(new Check($"head drafts, depth {Depth}, top-{TopK}: {(drafted ? "same tokens" : "tokens DIFFER")}",
            Relative(levelA, levelB), drafted));

        // The last level's batch on the GPU again: kernel by kernel (the state asked for twice), and every row's logits.
        log("graph against kernel by kernel");
        GpuSelfChecks(cuda, b, fed, lb[..L], rootB, checks);
        ((IDisposable)a).Dispose();
        ((IDisposable)b).Dispose();
        return new Result(checks, 0, 0, 5e-2);
    }

    /// <summary>A level's batch: tokens, input features, positions, parents, the frontier's rows.</summary>
    sealed record Level(int[] Tokens, float[] Features, int[] Positions, int[] Parents, int[] Frontier);

    /// <summary>
    /// EAGLE's levels with a fixed top-k and no reranking: the root's top-k from the catch-up's logits, then Depth − 1
    /// levels of the frontier (the best TopK children by cumulative log-probability) with its ancestors. Returns every
    /// recorded token in order and the frontier rows' logits of every level, concatenated.
    /// </summary>
    static (List<int> Tokens, float[] Logits) Draft(ILanguageModel head, IKvCache cache, int fed, float[] rootLogits, float[] rootState,
        Action<Level>? lastBatch)
    {
        int H = head.Config.HiddenSize, L = head.Config.LogitCount;
        var token = new List<int>();
        var parent = new List<int>();
        var level = new List<int>();
        var score = new List<float>();
        var state = new List<float[]>(); // a node's predicted state once expanded
        var allLogits = new List<float>();
        Expand(rootLogits, -1, 0, 1);
        var frontier = Enumerable.Range(0, TopK).ToList();
        for (int depth = 1; depth < Depth; depth++)
        {
            var batch = new List<int>();
            foreach (int f in frontier) Collect(f, batch);
            batch.Sort((x, y) => level[x] != level[y] ? level[x] - level[y] : x - y);
            int rows = batch.Count;
            var row = new Dictionary<int, int>();
            for (int r = 0; r < rows; r++) row[batch[r]] = r;
            var lv = new Level(
                batch.Select(n => token[n]).ToArray(),
                batch.SelectMany(n => parent[n] < 0 ? rootState : state[parent[n]]).ToArray(),
                batch.Select(n => fed - 1 + level[n]).ToArray(),
                batch.Select(n => parent[n] < 0 ? -1 : row[parent[n]]).ToArray(),
                frontier.Select(f => row[f]).ToArray());
            var logits = new float[lv.Frontier.Length * L];
            var states = new float[rows * H];
            head.Forward(new ForwardBatch
            {
                Tokens = lv.Tokens, Features = lv.Features, Positions = lv.Positions, Parents = lv.Parents, LogitRows = lv.Frontier,
                HiddenLayers = [1], Hidden = states,
            }, cache, logits);
            cache.Rollback(fed);
            allLogits.AddRange(logits);
            int first = token.Count;
            for (int f = 0; f < frontier.Count; f++)
            {
                while (state.Count <= frontier[f]) state.Add([]);
                state[frontier[f]] = states.AsSpan(lv.Frontier[f] * H, H).ToArray();
                Expand(logits.AsSpan(f * L, L).ToArray(), frontier[f], score[frontier[f]], depth + 1);
            }
            frontier = Enumerable.Range(first, token.Count - first).OrderByDescending(n => score[n]).ThenBy(n => n).Take(TopK).ToList();
            if (depth == Depth - 1) lastBatch?.Invoke(lv);
        }
        return (token, allLogits.ToArray());

        void Expand(float[] logits, int from, float baseScore, int depth)
        {
            int[] top = Top(logits);
            float max = logits.Max();
            float logSum = MathF.Log(logits.Sum(z => MathF.Exp(z - max)));
            foreach (int j in top)
            {
                token.Add(head.Config.DraftVocab is { } d ? d[j] : j);
                parent.Add(from);
                level.Add(depth);
                score.Add(baseScore + logits[j] - max - logSum);
            }
        }

        void Collect(int node, List<int> into)
        {
            if (node < 0 || into.Contains(node)) return;
            Collect(parent[node], into);
            into.Add(node);
        }
    }

    static void GpuSelfChecks(CudaTransformer cuda, IKvCache cache, int fed, float[] rootLogits, float[] rootState, List<Check> checks)
    {
        int H = cuda.Config.HiddenSize, L = cuda.Config.LogitCount;
        Level? last = null;
        Draft(cuda, cache, fed, rootLogits, rootState, lv => last = lv);
        Level lv = last!;
        int rows = lv.Tokens.Length, m = lv.Frontier.Length;
        var batch = new ForwardBatch { Tokens = lv.Tokens, Features = lv.Features, Positions = lv.Positions, Parents = lv.Parents, LogitRows = lv.Frontier };
        var graph = new float[m * L];
        var graphStates = new float[rows * H];
        cuda.Forward(batch with { HiddenLayers = [1], Hidden = graphStates }, cache, graph);
        cache.Rollback(fed);
        var kernels = new float[m * L];
        var kernelStates = new float[2 * rows * H];
        cuda.Forward(batch with { HiddenLayers = [1, 1], Hidden = kernelStates }, cache, kernels);
        cache.Rollback(fed);
        checks.Add(new Check($"GPU head: a level of {rows} rows as a graph = kernel by kernel",
            Math.Max(MaxAbs(graph, kernels), MaxAbs(graphStates, kernelStates[..graphStates.Length])), true, Exact: true));
        var every = new float[rows * L];
        cuda.Forward(batch with { LogitRows = Range(0, rows) }, cache, every);
        cache.Rollback(fed);
        var picked = lv.Frontier.SelectMany(r => every.AsSpan(r * L, L).ToArray()).ToArray();
        checks.Add(new Check("GPU head: frontier rows' logits = every row's", MaxAbs(graph, picked), true, Exact: true));
    }

    /// <summary>Whether row <paramref name="row"/> of both has the same top-k tokens in the same order.</summary>
    static bool SameTop(float[] x, float[] y, int row, int width)
    {
        return Top(x.AsSpan(row * width, width).ToArray()).SequenceEqual(Top(y.AsSpan(row * width, width).ToArray()));
    }

    /// <summary>The TopK largest logits' indices, best first (ties: the lower index).</summary>
    static int[] Top(float[] logits) => Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(TopK).ToArray();
}
