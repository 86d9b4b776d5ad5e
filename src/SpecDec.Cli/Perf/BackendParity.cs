using SpecDec.Backends.Cpu;
using SpecDec.Backends.Cuda;
using SpecDec.Model;

namespace SpecDec.Cli.Perf;

/// <summary>
/// `specdec parity`: one model on the CPU backend and on a GPU, fed the same batches of every kind a generation
/// uses (a prefill of two chunks, greedy decode, a token tree with parents, KeepRows of its accepted path, a
/// masked batch, hidden states, a layer range, embedding rows), their logits compared. On the GPU alone it also
/// checks the two properties speculation rests on, bit for bit: a tree row gets its path's logits run causally,
/// and a cache compacted by KeepRows gives what the path's own cache gives. The GPU tests run the same checks.
/// </summary>
internal static class BackendParity
{
    /// <summary>One comparison: the largest |cpu − gpu| over the largest |cpu|, and whether every row's argmax agrees.</summary>
    public sealed record Check(string Name, double RelativeError, bool ArgmaxAgrees, bool Exact = false)
    {
        public override string ToString() => Exact
            ? $"{Name,-44} {(RelativeError == 0 ? "bit-identical" : $"DIFFERS by {RelativeError:E2}")}"
            : $"{Name,-44} max |Δ|/max|logit| {RelativeError,10:E2}   argmax {(ArgmaxAgrees ? "same" : "DIFFERS")}";
    }

    public sealed record Result(IReadOnlyList<Check> Checks, int GreedySteps, int GreedyAgreed, double Tolerance)
    {
        /// <summary>Every GPU self-check bit-identical, every CPU comparison within the tolerance, greedy tokens the same.</summary>
        public bool Passed => Checks.All(c => c.Exact ? c.RelativeError == 0 : c.RelativeError <= Tolerance)
            && GreedyAgreed == GreedySteps;
    }

    public static Result Run(string path, CudaDevice gpu, Action<string> log)
    {
        using var cpu = Transformer.Load(ModelSource.Open(path));
        using var cuda = CudaTransformer.Load(ModelSource.Open(path), gpu);
        ModelConfig c = cpu.Config;
        // Quantized matrices: the CPU rounds each block of 32 activations to int8 for them (its error, about 1 % of the
        // largest logit, measured in docs/gpu.md), the GPU keeps them f32. Float weights: only summation order differs.
        bool quantized = cpu.Weights.Layers[0].Matrices.Any(t => t.Type is not (Tensors.GgmlType.F32 or Tensors.GgmlType.F16 or Tensors.GgmlType.BF16));
        double tolerance = quantized ? 5e-2 : 1e-5;
        var checks = new List<Check>();
        var rng = new Random(7);
        int V = c.VocabSize;
        int Token() => rng.Next(Math.Min(V, 32000));
        const int Prompt = 80; // two chunks of 64 rows

        IKvCache a = cpu.CreateCache(256), b = cuda.CreateCache(256);
        int[] prompt = Enumerable.Range(0, Prompt).Select(_ => Token()).ToArray();
        int[] outRows = [0, 31, 63, 64, Prompt - 1];
        log("prefill");
        checks.Add(Compare("prefill, 80 rows (2 chunks), 5 logit rows", cpu, cuda, a, b, new ForwardBatch
        {
            Tokens = prompt, Positions = Range(0, Prompt), LogitRows = outRows,
        }, outRows.Length));

        log("greedy decode");
        const int Steps = 24;
        int agreed = 0;
        int next = prompt[^1];
        double worst = 0;
        var la = new float[V];
        var lb = new float[V];
        for (int s = 0; s < Steps; s++)
        {
            int[] t = [next];
            int[] p = [Prompt + s];
            cpu.Forward(ForwardBatch.Causal(t, p), a, la);
            cuda.Forward(ForwardBatch.Causal(t, p), b, lb);
            worst = Math.Max(worst, Relative(la, lb));
            int ta = ArgMax(la), tb = ArgMax(lb);
            if (ta != tb) break;
            agreed++;
            next = ta;
        }
        checks.Add(new Check($"greedy decode, {Steps} steps: {agreed} tokens agree", worst, agreed == Steps));

        log("tree");
        a.Rollback(Prompt);
        b.Rollback(Prompt);
        int[] parents = [-1, 0, 0, 1, 1, 2, 5, 6];
        int[] depth = [0, 1, 1, 2, 2, 2, 3, 4];
        int[] tree = parents.Select(_ => Token()).ToArray();
        int[] all = Range(0, tree.Length);
        var treeBatch = new ForwardBatch { Tokens = tree, Positions = depth.Select(d => Prompt + d).ToArray(), Parents = parents, LogitRows = all };
        var treeCpu = new float[tree.Length * V];
        var treeGpu = new float[tree.Length * V];
        cpu.Forward(treeBatch, a, treeCpu);
        cuda.Forward(treeBatch, b, treeGpu);
        checks.Add(new Check("tree of 8 rows with parents", Relative(treeCpu, treeGpu), ArgMaxRows(treeCpu, treeGpu, V)));

        // The accepted path 0 → 2 → 5 → 6, run causally on a fresh GPU cache, must give the tree rows' bits.
        int[] accepted = [0, 2, 5, 6];
        IKvCache causal = cuda.CreateCache(256);
        var scratch = new float[V];
        cuda.Forward(ForwardBatch.Causal(prompt, Range(0, Prompt)), causal, scratch);
        var pathLogits = new float[accepted.Length * V];
        cuda.Forward(new ForwardBatch { Tokens = accepted.Select(i => tree[i]).ToArray(), Positions = Range(Prompt, accepted.Length), LogitRows = Range(0, accepted.Length) },
            causal, pathLogits);
        var treePath = accepted.SelectMany(i => treeGpu.AsSpan(i * V, V).ToArray()).ToArray();
        checks.Add(new Check("GPU: tree rows = their path run causally", MaxAbs(treePath, pathLogits), true, Exact: true));

        log("KeepRows");
        int[] kept = accepted.Skip(1).Select(i => Prompt + i).ToArray();
        a.KeepRows(Prompt + 1, kept);
        b.KeepRows(Prompt + 1, kept);
        int[] after = [Token()];
        int[] afterPos = [Prompt + accepted.Length];
        cpu.Forward(ForwardBatch.Causal(after, afterPos), a, la);
        cuda.Forward(ForwardBatch.Causal(after, afterPos), b, lb);
        checks.Add(new Check("decode after KeepRows of the path", Relative(la, lb), ArgMax(la) == ArgMax(lb)));
        cuda.Forward(ForwardBatch.Causal(after, afterPos), causal, scratch);
        checks.Add(new Check("GPU: KeepRows cache = the path's own cache", MaxAbs(lb, scratch), true, Exact: true));

        log("batch against one row at a time");
        // Every matmul path gives a row the same bits: one row a forward (BF16: the streaming kernel), 12 and 40 rows (the tiled
        // kernels of 2 and 8 tiles, the BF16 norm fused into the split above 16 rows, wider attention blocks).
        foreach (int rows in new[] { 12, 40 })
        {
            IKvCache one = cuda.CreateCache(256), many = cuda.CreateCache(256);
            cuda.Forward(ForwardBatch.Causal(prompt, Range(0, Prompt)), one, scratch);
            cuda.Forward(ForwardBatch.Causal(prompt, Range(0, Prompt)), many, scratch);
            int[] run = Enumerable.Range(0, rows).Select(_ => Token()).ToArray();
            var batched = new float[rows * V];
            var single = new float[rows * V];
            cuda.Forward(new ForwardBatch { Tokens = run, Positions = Range(Prompt, rows), LogitRows = Range(0, rows) }, many, batched);
            for (int i = 0; i < rows; i++)
                cuda.Forward(ForwardBatch.Causal(run.AsSpan(i, 1), [Prompt + i]), one, single.AsSpan(i * V, V));
            checks.Add(new Check($"GPU: {rows} rows in one batch = each row alone", MaxAbs(batched, single), true, Exact: true));
            ((IDisposable)one).Dispose();
            ((IDisposable)many).Dispose();
        }

        log("mask");
        ulong[] mask = [0b1, 0b11, 0b101, 0b1011];
        int start = a.Length;
        checks.Add(Compare("masked batch (lookahead window)", cpu, cuda, a, b, new ForwardBatch
        {
            Tokens = mask.Select(_ => Token()).ToArray(), Positions = [start, start + 1, start + 1, start + 2], Mask = mask, LogitRows = Range(0, 4),
        }, 4));

        log("hidden states");
        int[] layers = [0, c.LayerCount];
        var ha = new float[layers.Length * 3 * c.HiddenSize];
        var hb = new float[ha.Length];
        int[] three = [Token(), Token(), Token()];
        cpu.Forward(new ForwardBatch { Tokens = three, Positions = Range(a.Length, 3), HiddenLayers = layers, Hidden = ha }, a, la);
        cuda.Forward(new ForwardBatch { Tokens = three, Positions = Range(b.Length, 3), HiddenLayers = layers, Hidden = hb }, b, lb);
        checks.Add(new Check("hidden states of layer 0 and the final norm", Relative(ha, hb), true));
        checks.Add(new Check("logits of that batch", Relative(la, lb), ArgMax(la) == ArgMax(lb)));

        // EAGLE's verification: a tree wanting every row's logits and final-normed state, which the GPU replays as a
        // graph; asking for the final state twice takes the kernel-by-kernel path, which must give the same bits.
        log("final states of a tree");
        a.Rollback(Prompt);
        b.Rollback(Prompt);
        int[] final = [c.LayerCount];
        var fa = new float[tree.Length * c.HiddenSize];
        var fb = new float[fa.Length];
        var fk = new float[2 * fa.Length];
        var featureBatch = treeBatch with { HiddenLayers = final, Hidden = fa };
        cpu.Forward(featureBatch, a, treeCpu);
        cuda.Forward(featureBatch with { Hidden = fb }, b, treeGpu);
        checks.Add(new Check("tree of 8 rows: final-normed states (graph)", Relative(fa, fb), ArgMaxRows(treeCpu, treeGpu, V)));
        b.Rollback(Prompt);
        var kernelLogits = new float[treeGpu.Length];
        cuda.Forward(featureBatch with { HiddenLayers = [c.LayerCount, c.LayerCount], Hidden = fk }, b, kernelLogits);
        checks.Add(new Check("GPU: graph's states and logits = kernel by kernel", Math.Max(MaxAbs(fb, fk[..fb.Length]), MaxAbs(treeGpu, kernelLogits)), true, Exact: true));
        a.Rollback(Prompt);
        b.Rollback(Prompt);

        if (c.LayerCount > 1)
        {
            log("layer range and embeddings");
            IKvCache ra = cpu.CreateCache(64), rb = cuda.CreateCache(64);
            checks.Add(Compare("layer range: block 0 only", cpu, cuda, ra, rb, new ForwardBatch
            {
                Tokens = three, Positions = Range(0, 3), FirstLayer = 0, Layers = 1, LogitRows = Range(0, 3),
            }, 3));
            float[] embeddings = Enumerable.Range(0, 2 * c.HiddenSize).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            checks.Add(Compare("embedding rows into blocks 1…", cpu, cuda, ra, rb, new ForwardBatch
            {
                Embeddings = embeddings, Positions = Range(3, 2), FirstLayer = 1, LogitRows = Range(0, 2),
            }, 2));
        }
        ((IDisposable)a).Dispose();
        ((IDisposable)b).Dispose();
        ((IDisposable)causal).Dispose();
        return new Result(checks, Steps, agreed, tolerance);
    }

    static Check Compare(string name, ILanguageModel cpu, ILanguageModel gpu, IKvCache a, IKvCache b, ForwardBatch batch, int rows)
    {
        int v = cpu.Config.VocabSize;
        var la = new float[rows * v];
        var lb = new float[rows * v];
        cpu.Forward(batch, a, la);
        gpu.Forward(batch, b, lb);
        return new Check(name, Relative(la, lb), ArgMaxRows(la, lb, v));
    }

    internal static int[] Range(int start, int count) => Enumerable.Range(start, count).ToArray();

    internal static double Relative(float[] reference, float[] other) => MaxAbs(reference, other) / Math.Max(1e-30, reference.Max(MathF.Abs));

    internal static double MaxAbs(float[] x, float[] y)
    {
        double m = 0;
        for (int i = 0; i < x.Length; i++) m = Math.Max(m, float.IsFinite(y[i]) ? Math.Abs(x[i] - y[i]) : double.PositiveInfinity);
        return m;
    }

    static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    static bool ArgMaxRows(float[] a, float[] b, int v)
    {
        for (int r = 0; r < a.Length / v; r++)
            if (ArgMax(a.AsSpan(r * v, v)) != ArgMax(b.AsSpan(r * v, v))) return false;
        return true;
    }
}
