using System.Runtime.CompilerServices;

namespace SpecDec.Kernels;

/// <summary>
/// Grouped-query attention of T new rows over one layer's KV cache. Row i sees every cached row before the
/// batch plus the new rows in its mask (a bit set over the batch: itself and its ancestors). Fused: scores,
/// softmax and the weighted sum of values run in one pass over the keys in tiles of
/// <see cref="Tile"/> positions with a running max (online softmax), so scratch does not grow with context.
/// Work items are (KV head, block of rows): every query head of the group and every row of the block reads
/// each key and value once, which is what keeps short verification batches cheap.
/// </summary>
public static unsafe class Attention
{
    /// <summary>Key positions scored together before their values are accumulated.</summary>
    public const int Tile = 64;

    /// <summary>Most queries (query heads × rows) one work item handles.</summary>
    public const int MaxQueries = 16;

    /// <summary>Floats of per-thread scratch for head dimension <paramref name="headDim"/>.</summary>
    public static int ScratchFloats(int headDim) => MaxQueries * (Tile + headDim + 2);

    /// <summary>One layer's attention problem. Unmanaged so it can travel to the workers by address.</summary>
    public struct Problem
    {
        /// <summary>[T × Heads × HeadDim] queries, already rotated.</summary>
        public float* Q;
        /// <summary>[T × Heads × HeadDim] output.</summary>
        public float* Output;
        /// <summary>This layer's keys and values: [KvHeads × Capacity × HeadDim], the batch's rows already written at Past + i.</summary>
        public float* K, V;
        public int Capacity;
        public int T, Heads, KvHeads, HeadDim;
        /// <summary>Cached rows before the batch, all visible to every row.</summary>
        public int Past;
        /// <summary>[T] bit j of Visible[i]: row i sees new row j (always including j = i).</summary>
        public ulong* Visible;
        public float Scale;
    }

    public static void Run(WorkerPool pool, in Problem problem, float* scratch, SimdLevel level)
    {
        int group = problem.Heads / problem.KvHeads;
        int rowsPerItem = Math.Max(1, MaxQueries / group);
        int rowBlocks = (problem.T + rowsPerItem - 1) / rowsPerItem;
        if (group > MaxQueries) throw new ArgumentException($"{group} query heads per KV head exceed {MaxQueries}");
        var job = new Job
        {
            P = problem, Group = group, RowsPerItem = rowsPerItem, RowBlocks = rowBlocks,
            Scratch = scratch, ScratchStride = ScratchFloats(problem.HeadDim), Level = level,
        };
        pool.For(problem.KvHeads * rowBlocks, job);
    }

    struct Job : IParallelJob
    {
        public Problem P;
        public int Group, RowsPerItem, RowBlocks;
        public float* Scratch;
        public int ScratchStride;
        public SimdLevel Level;

        public void Execute(int index, int thread)
        {
            int g = index / RowBlocks;
            int row0 = index % RowBlocks * RowsPerItem;
            int row1 = Math.Min(row0 + RowsPerItem, P.T);
            float* scratch = Scratch + (long)thread * ScratchStride;
            switch (Level)
            {
                case SimdLevel.V512: Fused<Float512>(P, g, Group, row0, row1, scratch); break;
                case SimdLevel.V256: Fused<Float256>(P, g, Group, row0, row1, scratch); break;
                default: Scalar(P, g, Group, row0, row1); break;
            }
        }
    }

    /// <summary>Reference: per query, scores over the visible keys, a two-pass softmax, then Σ p·v.</summary>
    static void Scalar(in Problem p, int g, int group, int row0, int row1)
    {
        int d = p.HeadDim;
        float* keys = p.K + (long)g * p.Capacity * d, values = p.V + (long)g * p.Capacity * d;
        for (int i = row0; i < row1; i++)
            for (int h = g * group; h < (g + 1) * group; h++)
            {
                float* q = p.Q + ((long)i * p.Heads + h) * d;
                float* o = p.Output + ((long)i * p.Heads + h) * d;
                // Two passes over all positions (max, then exp-sum and values): no score buffer needed.
                float max = float.NegativeInfinity;
                int end = p.Past + i + 1;
                for (int t = 0; t < end; t++)
                    if (Sees(p, i, t)) max = MathF.Max(max, DotScalar(q, keys + (long)t * d, d) * p.Scale);
                float sum = 0;
                for (int c = 0; c < d; c++) o[c] = 0;
                for (int t = 0; t < end; t++)
                {
                    if (!Sees(p, i, t)) continue;
                    float e = MathF.Exp(DotScalar(q, keys + (long)t * d, d) * p.Scale - max);
                    sum += e;
                    for (int c = 0; c < d; c++) o[c] += e * values[(long)t * d + c];
                }
                for (int c = 0; c < d; c++) o[c] /= sum;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Sees(in Problem p, int row, int position) =>
        position < p.Past || (p.Visible[row] >> (position - p.Past) & 1) != 0;

    static float DotScalar(float* a, float* b, int n)
    {
        float s = 0;
        for (int i = 0; i < n; i++) s += a[i] * b[i];
        return s;
    }

    static void Fused<TVec>(in Problem p, int g, int group, int row0, int row1, float* scratch)
        where TVec : unmanaged, IFloatVector<TVec>
    {
        int d = p.HeadDim;
        int queries = (row1 - row0) * group;
        float* scores = scratch;                    // [queries × Tile]
        float* acc = scratch + MaxQueries * Tile;   // [queries × d]
        float* max = acc + MaxQueries * d;          // [queries]
        float* sum = max + MaxQueries;              // [queries]
        float* keys = p.K + (long)g * p.Capacity * d, values = p.V + (long)g * p.Capacity * d;
        for (int j = 0; j < queries; j++)
        {
            max[j] = float.NegativeInfinity;
            sum[j] = 0;
            new Span<float>(acc + (long)j * d, d).Clear();
        }

        int end = p.Past + row1; // the last row of the block sees at most up to itself
        for (int t0 = 0; t0 < end; t0 += Tile)
        {
            int n = Math.Min(Tile, end - t0);
            // Scores: each key is loaded once and dotted with every query of the item.
            for (int t = 0; t < n; t++)
            {
                float* k = keys + (long)(t0 + t) * d;
                for (int j = 0; j < queries; j++)
                {
                    int row = row0 + j / group, h = g * group + j % group;
                    scores[j * Tile + t] = Sees(p, row, t0 + t)
                        ? Dot<TVec>(p.Q + ((long)row * p.Heads + h) * d, k, d) * p.Scale
                        : float.NegativeInfinity;
                }
            }
            // Online softmax: rescale what was accumulated when the running max grows.
            for (int j = 0; j < queries; j++)
            {
                float* s = scores + j * Tile;
                float tileMax = float.NegativeInfinity;
                for (int t = 0; t < n; t++) tileMax = MathF.Max(tileMax, s[t]);
                if (tileMax == float.NegativeInfinity)
                {
                    // Nothing visible in this tile (a row whose own position lies before it): weight 0, not -inf,
                    // or the value pass below would add -inf·v and poison the row with NaN.
                    new Span<float>(s, n).Clear();
                    continue;
                }
                float newMax = MathF.Max(max[j], tileMax);
                float correction = MathF.Exp(max[j] - newMax);
                if (correction != 1f)
                {
                    sum[j] *= correction;
                    Scale<TVec>(acc + (long)j * d, correction, d);
                }
                max[j] = newMax;
                float tileSum = 0;
                for (int t = 0; t < n; t++) tileSum += s[t] = MathF.Exp(s[t] - newMax);
                sum[j] += tileSum;
            }
            // Values: each is loaded once and added into every query's accumulator.
            for (int t = 0; t < n; t++)
            {
                float* v = values + (long)(t0 + t) * d;
                for (int j = 0; j < queries; j++)
                {
                    float e = scores[j * Tile + t];
                    if (e != 0) AddScaled<TVec>(acc + (long)j * d, v, e, d);
                }
            }
        }
        for (int j = 0; j < queries; j++)
        {
            int row = row0 + j / group, h = g * group + j % group;
            float* o = p.Output + ((long)row * p.Heads + h) * d;
            float inv = 1f / sum[j];
            float* a = acc + (long)j * d;
            for (int c = 0; c < d; c++) o[c] = a[c] * inv;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot<TVec>(float* a, float* b, int n) where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width, i = 0;
        TVec s = TVec.Zero;
        for (; i + w <= n; i += w) s = TVec.MulAdd(TVec.Load(a + i), TVec.Load(b + i), s);
        float r = TVec.Sum(s);
        for (; i < n; i++) r += a[i] * b[i];
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddScaled<TVec>(float* acc, float* v, float e, int n) where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width, i = 0;
        TVec ev = TVec.Broadcast(e);
        for (; i + w <= n; i += w) TVec.Store(TVec.MulAdd(ev, TVec.Load(v + i), TVec.Load(acc + i)), acc + i);
        for (; i < n; i++) acc[i] += e * v[i];
    }

    static void Scale<TVec>(float* acc, float c, int n) where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width, i = 0;
        TVec cv = TVec.Broadcast(c);
        for (; i + w <= n; i += w) TVec.Store(TVec.Mul(TVec.Load(acc + i), cv), acc + i);
        for (; i < n; i++) acc[i] *= c;
    }
}
