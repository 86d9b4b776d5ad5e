using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace SpecDec.Kernels;

/// <summary>
/// Grouped-query attention of T new rows over one layer's KV cache. Row i sees every cached row before the
/// batch plus the new rows in its mask (a bit set over the batch: itself and its ancestors). Fused: scores,
/// softmax and the weighted sum of values run in one pass over the keys in tiles of
/// <see cref="Tile"/> positions with a running max (online softmax), so scratch does not grow with context.
/// Work items are (KV head, block of rows): every query head of the group and every row of the block reads
/// each key and value once, which is what keeps short verification batches cheap.
/// Keys are stored transposed in blocks of <see cref="KeyBlock"/> positions ([block][HeadDim][KeyBlock], see
/// <see cref="KeyIndex"/>), so the scores of 16 keys are the 16 lanes of one vector built by broadcast-FMAs over
/// the head dimension, with no horizontal sum per key. Values stay one row per position.
/// An f16 cache is read the same way: each work item converts a tile's keys and values to f32 in its scratch
/// once, and all its queries score from there.
/// </summary>
public static unsafe class Attention
{
    /// <summary>Key positions scored together before their values are accumulated.</summary>
    public const int Tile = 64;

    /// <summary>Key positions stored transposed together.</summary>
    public const int KeyBlock = 16;

    /// <summary>Index of element c of the key at <paramref name="position"/> within one head's keys.</summary>
    public static long KeyIndex(int position, int c, int headDim) =>
        ((long)(position / KeyBlock) * headDim + c) * KeyBlock + position % KeyBlock;

    /// <summary>
    /// Floats of one head's keys (and, with the same stride, values) for <paramref name="capacity"/> positions:
    /// rounded up to whole tiles, which the score pass reads in full.
    /// </summary>
    public static long HeadFloats(long capacity, int headDim) => (capacity + Tile - 1) / Tile * Tile * headDim;

    /// <summary>Most queries (query heads × rows) one work item handles.</summary>
    public const int MaxQueries = 16;

    /// <summary>Floats of per-thread scratch for head dimension <paramref name="headDim"/>.</summary>
    public static int ScratchFloats(int headDim) => MaxQueries * (Tile + headDim + 2) + 4 * Tile * headDim;

    /// <summary>One layer's attention problem. Unmanaged so it can travel to the workers by address.</summary>
    public struct Problem
    {
        /// <summary>[T × Heads × HeadDim] queries, already rotated.</summary>
        public float* Q;
        /// <summary>[T × Heads × HeadDim] output.</summary>
        public float* Output;
        /// <summary>
        /// This layer's keys and values, the batch's rows already written at Past + i: head g's keys start at
        /// element g·HeadStride in <see cref="KeyIndex"/> order, its values at element g·HeadStride, HeadDim per position.
        /// </summary>
        public byte* K, V;
        /// <summary>K and V hold f16 elements (else f32).</summary>
        public bool Half;
        /// <summary>Elements from one head's keys (values) to the next: <see cref="HeadFloats"/>.</summary>
        public long HeadStride;
        public int T, Heads, KvHeads, HeadDim;
        /// <summary>Cached rows before the batch, all visible to every row.</summary>
        public int Past;
        /// <summary>[T] bit j of Visible[i]: row i sees new row j (always including j = i).</summary>
        public ulong* Visible;
        public float Scale;
        /// <summary>When positive, scores s become Softcap·tanh(s / Softcap) (Gemma 2).</summary>
        public float Softcap;
        /// <summary>
        /// When positive, a row sees only keys fewer than Window positions behind it (sliding-window layers).
        /// Positions are slots: cached row t is at t, and a row's visible batch rows follow the cache in order.
        /// </summary>
        public int Window;
    }

    public static void Run(WorkerPool pool, in Problem problem, float* scratch, SimdLevel level)
    {
        Job job = Split(problem, scratch, level);
        pool.For(job.Items, job);
    }

    /// <summary>
    /// Several sequences' problems (continuous batching: each its own cache, rows, mask) in one dispatch. Each
    /// problem is split into items exactly as <see cref="Run"/> splits it, so every row gets the bits it gets alone.
    /// </summary>
    public static void RunMany(WorkerPool pool, Problem* problems, int count, float* scratch, SimdLevel level)
    {
        int items = 0;
        for (int s = 0; s < count; s++) items += Split(problems[s], scratch, level).Items;
        pool.For(items, new ManyJob { Problems = problems, Count = count, Scratch = scratch, Level = level });
    }

    /// <summary>A problem's work items: each KV head's query rows in blocks that fill <see cref="MaxQueries"/>.</summary>
    static Job Split(in Problem problem, float* scratch, SimdLevel level)
    {
        int group = problem.Heads / problem.KvHeads;
        if (group > MaxQueries) throw new ArgumentException($"{group} query heads per KV head exceed {MaxQueries}");
        int rowsPerItem = Math.Max(1, MaxQueries / group);
        return new Job
        {
            P = problem, Group = group, RowsPerItem = rowsPerItem, RowBlocks = (problem.T + rowsPerItem - 1) / rowsPerItem,
            Scratch = scratch, ScratchStride = ScratchFloats(problem.HeadDim), Level = level,
        };
    }

    struct ManyJob : IParallelJob
    {
        public Problem* Problems;
        public int Count;
        public float* Scratch;
        public SimdLevel Level;

        public void Execute(int index, int thread)
        {
            for (int s = 0; s < Count; s++)
            {
                Job job = Split(Problems[s], Scratch, Level);
                if (index < job.Items)
                {
                    job.Execute(index, thread);
                    return;
                }
                index -= job.Items;
            }
        }
    }

    struct Job : IParallelJob
    {
        public Problem P;
        public int Group, RowsPerItem, RowBlocks;
        public float* Scratch;
        public int ScratchStride;
        public SimdLevel Level;

        /// <summary>Work items: one per KV head and block of query rows.</summary>
        public readonly int Items => P.KvHeads * RowBlocks;

        public void Execute(int index, int thread)
        {
            int g = index / RowBlocks;
            int row0 = index % RowBlocks * RowsPerItem;
            int row1 = Math.Min(row0 + RowsPerItem, P.T);
            float* scratch = Scratch + (long)thread * ScratchStride;
            switch (Level)
            {
                case SimdLevel.V512: Fused<Float512>(P, g, Group, row0, row1, scratch, Level); break;
                case SimdLevel.V256: Fused<Float256>(P, g, Group, row0, row1, scratch, Level); break;
                default: Scalar(P, g, Group, row0, row1); break;
            }
        }
    }

    /// <summary>Reference: per query, scores over the visible keys, a two-pass softmax, then Σ p·v.</summary>
    static void Scalar(in Problem p, int g, int group, int row0, int row1)
    {
        int d = p.HeadDim;
        long head = g * p.HeadStride;
        for (int i = row0; i < row1; i++)
            for (int h = g * group; h < (g + 1) * group; h++)
            {
                float* q = p.Q + ((long)i * p.Heads + h) * d;
                float* o = p.Output + ((long)i * p.Heads + h) * d;
                // Two passes over all positions (max, then exp-sum and values): no score buffer needed.
                float max = float.NegativeInfinity;
                int end = p.Past + i + 1;
                for (int t = 0; t < end; t++)
                    if (SeesInWindow(p, i, t)) max = MathF.Max(max, Capped(p, DotScalar(p, q, head, t) * p.Scale));
                float sum = 0;
                for (int c = 0; c < d; c++) o[c] = 0;
                for (int t = 0; t < end; t++)
                {
                    if (!SeesInWindow(p, i, t)) continue;
                    float e = MathF.Exp(Capped(p, DotScalar(p, q, head, t) * p.Scale) - max);
                    sum += e;
                    for (int c = 0; c < d; c++) o[c] += e * Element(p, p.V, head + (long)t * d + c);
                }
                for (int c = 0; c < d; c++) o[c] /= sum;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Sees(in Problem p, int row, int position) =>
        position < p.Past || (p.Visible[row] >> (position - p.Past) & 1) != 0;

    /// <summary><see cref="Sees"/>, and within the window counted in path slots (the row's own is Past + its visible rows − 1).</summary>
    static bool SeesInWindow(in Problem p, int row, int position)
    {
        if (!Sees(p, row, position)) return false;
        if (p.Window <= 0) return true;
        ulong visible = p.Visible[row];
        int slot = position < p.Past ? position : p.Past + BitOperations.PopCount(visible & Prefix(position - p.Past));
        return p.Past + BitOperations.PopCount(visible) - 1 - slot < p.Window;
    }

    static float Capped(in Problem p, float score) => p.Softcap > 0 ? p.Softcap * MathF.Tanh(score / p.Softcap) : score;

    static float DotScalar(in Problem p, float* q, long head, int position)
    {
        float s = 0;
        for (int c = 0; c < p.HeadDim; c++) s += q[c] * Element(p, p.K, head + KeyIndex(position, c, p.HeadDim));
        return s;
    }

    /// <summary>Element <paramref name="index"/> of the keys or values at <paramref name="data"/>, as f32.</summary>
    static float Element(in Problem p, byte* data, long index) =>
        p.Half ? (float)BitConverter.UInt16BitsToHalf(((ushort*)data)[index]) : ((float*)data)[index];

    static void Fused<TVec>(in Problem p, int g, int group, int row0, int row1, float* scratch, SimdLevel level)
        where TVec : unmanaged, IFloatVector<TVec>
    {
        int d = p.HeadDim;
        int queries = (row1 - row0) * group;        // query j: row row0 + j / group, head g·group + j % group
        float* scores = scratch;                    // [queries × Tile]
        float* acc = scratch + MaxQueries * Tile;   // [queries × d]
        float* max = acc + MaxQueries * d;          // [queries]
        float* sum = max + MaxQueries;              // [queries]
        float* keyTile = sum + MaxQueries;          // [Tile × d] an f16 tile's keys, converted (KeyIndex order)
        float* valueTile = keyTile + Tile * d;      // [Tile × d] and its values
        float* rowKeys = valueTile + Tile * d;      // [Tile × d] a tree row's keys laid out as its path's (KeyIndex order)
        float* rowValues = rowKeys + Tile * d;      // [Tile × d] and their values
        long head = g * p.HeadStride;
        for (int j = 0; j < queries; j++)
        {
            max[j] = float.NegativeInfinity;
            sum[j] = 0;
            new Span<float>(acc + (long)j * d, d).Clear();
        }

        int end = p.Past + row1; // the last row of the block sees at most up to itself
        // Every row's slot is at least Past: tiles wholly behind Past's window hold nothing any row sees.
        int start = p.Window > 0 ? Math.Max(0, p.Past + 1 - p.Window) / Tile * Tile : 0;
        for (int t0 = start; t0 < end; t0 += Tile)
        {
            int n = Math.Min(Tile, end - t0);
            long first = head + (long)t0 * d; // the tile's first element, keys and values alike
            float* tileKeys = keyTile, tileValues = valueTile;
            if (p.Half)
            {
                // Scores reads keys in runs of 4 vectors: whole key blocks, which a tile's capacity holds.
                int scored = Math.Min(Tile, (n + 4 * TVec.Width - 1) / (4 * TVec.Width) * 4 * TVec.Width);
                Dequantize.F16(p.K + first * sizeof(ushort), keyTile, scored * d, level);
                Dequantize.F16(p.V + first * sizeof(ushort), valueTile, n * d, level);
            }
            else
            {
                tileKeys = (float*)p.K + first;
                tileValues = (float*)p.V + first;
            }
            for (int r = row0, j = 0; r < row1; r++)
            {
                // Keys past the row's own position are never visible; among the batch's rows, the mask decides.
                int seen = Math.Clamp(p.Past + r + 1 - t0, 0, n);
                int unmasked = Math.Clamp(p.Past - t0, 0, seen);
                float* keys = tileKeys, values = tileValues;
                ulong visible = p.Visible[r];
                int windowStart = p.Past + BitOperations.PopCount(visible) - p.Window; // first slot in the window
                if (visible != Prefix(r + 1) && seen > unmasked)
                {
                    // A row that does not see every earlier row of the batch (a tree's) scores the rows it sees at the
                    // positions its path would hold when run causally, so that the online softmax meets the same keys
                    // in the same tiles: its bits then equal the path's, wherever the batch crosses a tile boundary.
                    seen = Math.Clamp(p.Past + BitOperations.PopCount(visible) - t0, 0, n);
                    LayOutPath(p, head, t0, unmasked, seen, visible, tileKeys, tileValues, rowKeys, rowValues);
                    keys = rowKeys;
                    values = rowValues;
                    unmasked = seen;
                }
                // The row's query heads of this group read the same keys and values: two at a time share their loads
                // and run twice the independent FMA chains. Each query's own operations stay as they are alone. Only
                // with AVX-512's 32 registers: on AVX2's 16 the pairs' accumulators spill (bundled target, AVX2 class,
                // one row 1.51 → 1.58 ms of CPU time).
                int h = g * group, hEnd = h + group;
                for (; TVec.Width >= Float512.Width && h + 1 < hEnd; h += 2, j += 2)
                {
                    float* q = p.Q + ((long)r * p.Heads + h) * d; // head h + 1's query follows at q + d
                    float* s = scores + j * Tile, s1 = s + Tile;
                    ScoresPair<TVec>(q, q + d, keys, seen, d, p.Scale, s, s1);
                    bool weighed = Weigh<TVec>(p, r, t0, seen, unmasked, windowStart, s, ref max[j], ref sum[j], acc + (long)j * d);
                    bool weighed1 = Weigh<TVec>(p, r, t0, seen, unmasked, windowStart, s1, ref max[j + 1], ref sum[j + 1], acc + (long)(j + 1) * d);
                    if (weighed && weighed1) AddValuesPair<TVec>(acc + (long)j * d, acc + (long)(j + 1) * d, values, s, s1, seen, d, ref sum[j], ref sum[j + 1]);
                    else if (weighed) AddValues<TVec>(acc + (long)j * d, values, s, seen, d, ref sum[j]);
                    else if (weighed1) AddValues<TVec>(acc + (long)(j + 1) * d, values, s1, seen, d, ref sum[j + 1]);
                }
                for (; h < hEnd; h++, j++)
                {
                    float* q = p.Q + ((long)r * p.Heads + h) * d;
                    float* s = scores + j * Tile;
                    Scores<TVec>(q, keys, seen, d, p.Scale, s);
                    if (Weigh<TVec>(p, r, t0, seen, unmasked, windowStart, s, ref max[j], ref sum[j], acc + (long)j * d))
                        AddValues<TVec>(acc + (long)j * d, values, s, seen, d, ref sum[j]);
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

    /// <summary>
    /// One query's scores of a tile (row <paramref name="r"/>, <paramref name="seen"/> of them) capped and masked, then its
    /// online softmax step (<see cref="Softmax{TVec}"/>): false when nothing in the tile is visible.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Weigh<TVec>(in Problem p, int r, int t0, int seen, int unmasked, int windowStart, float* s, ref float max, ref float sum, float* acc)
        where TVec : unmanaged, IFloatVector<TVec>
    {
        if (p.Softcap > 0) Softcap(s, seen, p.Softcap);
        for (int t = unmasked; t < seen; t++)
            if (!Sees(p, r, t0 + t)) s[t] = float.NegativeInfinity;
        // Slots behind the window; after LayOutPath a tree row's slots are its path's.
        if (p.Window > 0)
            for (int t = 0, behind = Math.Min(seen, windowStart - t0); t < behind; t++) s[t] = float.NegativeInfinity;
        return seen > 0 && Softmax<TVec>(s, seen, ref max, ref sum, acc, p.HeadDim);
    }

    /// <summary>s[0..n) = cap·tanh(s / cap).</summary>
    static void Softcap(float* s, int n, float cap)
    {
        var span = new Span<float>(s, n);
        TensorPrimitives.Multiply(span, 1f / cap, span);
        TensorPrimitives.Tanh(span, span);
        TensorPrimitives.Multiply(span, cap, span);
    }

    /// <summary>Bits 0 … count − 1: a row that sees every batch row up to itself.</summary>
    static ulong Prefix(int count) => count >= 64 ? ulong.MaxValue : (1UL << count) - 1;

    /// <summary>
    /// The tile at <paramref name="t0"/> as a row that sees only the batch rows in <paramref name="visible"/> would
    /// find it were those rows its causal path: slots before <paramref name="cached"/> are the cache's, slot
    /// Past − t0 + k holds the k-th visible batch row. Writes slots [0, <paramref name="count"/>) of
    /// <paramref name="keys"/> (KeyIndex order) and <paramref name="values"/> from the tile as read
    /// (<paramref name="tileKeys"/>, f32) and, for visible rows outside this tile, from the cache itself.
    /// </summary>
    static void LayOutPath(in Problem p, long head, int t0, int cached, int count, ulong visible,
        float* tileKeys, float* tileValues, float* keys, float* values)
    {
        int d = p.HeadDim;
        long keyFloats = (long)(count + KeyBlock - 1) / KeyBlock * KeyBlock * d;
        Buffer.MemoryCopy(tileKeys, keys, keyFloats * sizeof(float), keyFloats * sizeof(float));
        Buffer.MemoryCopy(tileValues, values, (long)count * d * sizeof(float), (long)count * d * sizeof(float));
        // The k-th visible row (k from 0) sits at Past + its index; on the path it sits at Past + k.
        int k = 0;
        for (ulong bits = visible; bits != 0; bits &= bits - 1, k++)
        {
            int slot = p.Past + k - t0, source = p.Past + BitOperations.TrailingZeroCount(bits);
            if (slot < cached) continue;
            if (slot >= count) break;
            if (source == t0 + slot) continue; // already in place
            for (int c = 0; c < d; c++)
            {
                keys[KeyIndex(slot, c, d)] = source - t0 < Tile
                    ? tileKeys[KeyIndex(source - t0, c, d)]
                    : Element(p, p.K, head + KeyIndex(source, c, d));
                values[(long)slot * d + c] = source - t0 < Tile
                    ? tileValues[(long)(source - t0) * d + c]
                    : Element(p, p.V, head + (long)source * d + c);
            }
        }
    }

    /// <summary>
    /// Online softmax step for one query and one tile: turns the tile's n scores into exp(s − max) and rescales
    /// what was accumulated (values and sum) when the running max grows. Works on whole vectors:
    /// s must have room up to n rounded up to the vector width (the tile's scratch row has). False when nothing
    /// in the tile is visible (the scores then carry no weight and the value pass is skipped).
    /// </summary>
    static bool Softmax<TVec>(float* s, int n, ref float max, ref float sum, float* acc, int d) where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width, whole = (n + w - 1) / w * w;
        for (int t = n; t < whole; t++) s[t] = float.NegativeInfinity;
        TVec m = TVec.Load(s);
        for (int t = w; t < whole; t += w) m = TVec.Max(m, TVec.Load(s + t));
        float tileMax = TVec.MaxElement(m);
        if (tileMax == float.NegativeInfinity) return false;
        float newMax = MathF.Max(max, tileMax);
        float correction = MathF.Exp(max - newMax);
        if (correction != 1f)
        {
            sum *= correction;
            TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc, d), correction, new Span<float>(acc, d));
        }
        max = newMax;
        TVec shift = TVec.Broadcast(-newMax);
        for (int t = 0; t < whole; t += w) TVec.Store(TVec.Exp(TVec.Add(TVec.Load(s + t), shift)), s + t);
        return true;
    }

    /// <summary>
    /// acc[0..d) += Σ_t e[t]·v[t] over n value rows (d floats apart), and sum += Σ_t e[t]. Four vectors of acc
    /// stay in registers across the keys: independent FMA chains instead of a load-add-store of acc per key.
    /// Both sums run in key order, so masked keys (e = 0) change nothing and a tree row gets the same bits as
    /// its path run causally, whichever lanes its keys fall in.
    /// </summary>
    static void AddValues<TVec>(float* acc, float* v, float* e, int n, int d, ref float sum) where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width, c = 0;
        // A head too narrow for four wide vectors (32 floats at 512 bits) takes four 256-bit ones instead: four
        // FMA chains rather than two. Each lane does the same FMAs in the same key order, so the bits are the same.
        if (d < 4 * w && w > Float256.Width && d >= 4 * Float256.Width)
        {
            AddValues<Float256>(acc, v, e, n, d, ref sum);
            return;
        }
        if (d >= 4 * w)
        {
            sum = AddFour<TVec>(acc, v, e, n, d, sum, withSum: true);
            c = 4 * w;
        }
        else
        {
            for (int t = 0; t < n; t++) sum += e[t];
        }
        for (; c + 4 * w <= d; c += 4 * w) AddFour<TVec>(acc + c, v + c, e, n, d, 0, withSum: false);
        for (; c + w <= d; c += w)
        {
            TVec a = TVec.Load(acc + c);
            for (int t = 0; t < n; t++) a = TVec.MulAdd(TVec.Broadcast(e[t]), TVec.Load(v + (long)t * d + c), a);
            TVec.Store(a, acc + c);
        }
        for (; c < d; c++)
            for (int t = 0; t < n; t++) acc[c] += e[t] * v[(long)t * d + c];
    }

    /// <summary>Four vectors of <see cref="AddValues{TVec}"/>; with <paramref name="withSum"/> (a constant) also Σ e.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float AddFour<TVec>(float* acc, float* v, float* e, int n, int d, float sum, bool withSum) where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width;
        TVec a0 = TVec.Load(acc), a1 = TVec.Load(acc + w), a2 = TVec.Load(acc + 2 * w), a3 = TVec.Load(acc + 3 * w);
        for (int t = 0; t < n; t++)
        {
            if (withSum) sum += e[t];
            TVec et = TVec.Broadcast(e[t]);
            float* vt = v + (long)t * d;
            a0 = TVec.MulAdd(et, TVec.Load(vt), a0);
            a1 = TVec.MulAdd(et, TVec.Load(vt + w), a1);
            a2 = TVec.MulAdd(et, TVec.Load(vt + 2 * w), a2);
            a3 = TVec.MulAdd(et, TVec.Load(vt + 3 * w), a3);
        }
        TVec.Store(a0, acc);
        TVec.Store(a1, acc + w);
        TVec.Store(a2, acc + 2 * w);
        TVec.Store(a3, acc + 3 * w);
        return sum;
    }

    /// <summary>
    /// <see cref="AddValues{TVec}"/> for two queries over the same values (two heads of a row): each value vector loaded
    /// once for both, and twice the FMA chains in flight, where a query alone waits on its four. Each query's sums are
    /// the ones it gets alone, in the same order. (At d = 32 the 512-bit path sums on 256 bits, still with 32 registers.)
    /// </summary>
    static void AddValuesPair<TVec>(float* acc, float* acc1, float* v, float* e, float* e1, int n, int d, ref float sum, ref float sum1)
        where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width;
        if (d < 4 * w && w > Float256.Width && d >= 4 * Float256.Width)
        {
            AddValuesPair<Float256>(acc, acc1, v, e, e1, n, d, ref sum, ref sum1);
            return;
        }
        if (d < 4 * w || d % (4 * w) != 0)
        {
            AddValues<TVec>(acc, v, e, n, d, ref sum);
            AddValues<TVec>(acc1, v, e1, n, d, ref sum1);
            return;
        }
        (sum, sum1) = AddFourPair<TVec>(acc, acc1, v, e, e1, n, d, sum, sum1, withSum: true);
        for (int c = 4 * w; c < d; c += 4 * w) AddFourPair<TVec>(acc + c, acc1 + c, v + c, e, e1, n, d, 0, 0, withSum: false);
    }

    /// <summary><see cref="AddFour{TVec}"/> for two queries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (float, float) AddFourPair<TVec>(float* acc, float* acc1, float* v, float* e, float* e1, int n, int d, float sum, float sum1, bool withSum)
        where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width;
        TVec a0 = TVec.Load(acc), a1 = TVec.Load(acc + w), a2 = TVec.Load(acc + 2 * w), a3 = TVec.Load(acc + 3 * w);
        TVec b0 = TVec.Load(acc1), b1 = TVec.Load(acc1 + w), b2 = TVec.Load(acc1 + 2 * w), b3 = TVec.Load(acc1 + 3 * w);
        for (int t = 0; t < n; t++)
        {
            if (withSum)
            {
                sum += e[t];
                sum1 += e1[t];
            }
            TVec et = TVec.Broadcast(e[t]), et1 = TVec.Broadcast(e1[t]);
            float* vt = v + (long)t * d;
            TVec v0 = TVec.Load(vt), v1 = TVec.Load(vt + w), v2 = TVec.Load(vt + 2 * w), v3 = TVec.Load(vt + 3 * w);
            a0 = TVec.MulAdd(et, v0, a0);
            b0 = TVec.MulAdd(et1, v0, b0);
            a1 = TVec.MulAdd(et, v1, a1);
            b1 = TVec.MulAdd(et1, v1, b1);
            a2 = TVec.MulAdd(et, v2, a2);
            b2 = TVec.MulAdd(et1, v2, b2);
            a3 = TVec.MulAdd(et, v3, a3);
            b3 = TVec.MulAdd(et1, v3, b3);
        }
        TVec.Store(a0, acc);
        TVec.Store(a1, acc + w);
        TVec.Store(a2, acc + 2 * w);
        TVec.Store(a3, acc + 3 * w);
        TVec.Store(b0, acc1);
        TVec.Store(b1, acc1 + w);
        TVec.Store(b2, acc1 + 2 * w);
        TVec.Store(b3, acc1 + 3 * w);
        return (sum, sum1);
    }

    /// <summary>
    /// <see cref="Scores{TVec}"/> for two queries over the same keys (two heads of a row): each key vector loaded once for
    /// both, 16 FMA chains (AVX-512's 32 registers hold them). Each query's chains are the ones it runs alone.
    /// </summary>
    static void ScoresPair<TVec>(float* q, float* q1, float* tile, int n, int d, float scale, float* s, float* s1)
        where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width;
        for (int k0 = 0; k0 < n; k0 += 4 * w)
        {
            float* k = tile + KeyIndex(k0, 0, d), k1 = tile + KeyIndex(k0 + w, 0, d), k2 = tile + KeyIndex(k0 + 2 * w, 0, d),
                k3 = tile + KeyIndex(k0 + 3 * w, 0, d);
            TVec a0 = TVec.Zero, a1 = TVec.Zero, a2 = TVec.Zero, a3 = TVec.Zero; // query q, even c
            TVec b0 = TVec.Zero, b1 = TVec.Zero, b2 = TVec.Zero, b3 = TVec.Zero; // query q, odd c
            TVec c0 = TVec.Zero, c1 = TVec.Zero, c2 = TVec.Zero, c3 = TVec.Zero; // query q1, even c
            TVec e0 = TVec.Zero, e1 = TVec.Zero, e2 = TVec.Zero, e3 = TVec.Zero; // query q1, odd c
            for (int c = 0; c < d; c += 2)
            {
                long at = (long)c * KeyBlock, next = at + KeyBlock;
                TVec qc = TVec.Broadcast(q[c]), qn = TVec.Broadcast(q[c + 1]);
                TVec rc = TVec.Broadcast(q1[c]), rn = TVec.Broadcast(q1[c + 1]);
                TVec x0 = TVec.Load(k + at), x1 = TVec.Load(k1 + at), x2 = TVec.Load(k2 + at), x3 = TVec.Load(k3 + at);
                a0 = TVec.MulAdd(qc, x0, a0);
                c0 = TVec.MulAdd(rc, x0, c0);
                a1 = TVec.MulAdd(qc, x1, a1);
                c1 = TVec.MulAdd(rc, x1, c1);
                a2 = TVec.MulAdd(qc, x2, a2);
                c2 = TVec.MulAdd(rc, x2, c2);
                a3 = TVec.MulAdd(qc, x3, a3);
                c3 = TVec.MulAdd(rc, x3, c3);
                TVec y0 = TVec.Load(k + next), y1 = TVec.Load(k1 + next), y2 = TVec.Load(k2 + next), y3 = TVec.Load(k3 + next);
                b0 = TVec.MulAdd(qn, y0, b0);
                e0 = TVec.MulAdd(rn, y0, e0);
                b1 = TVec.MulAdd(qn, y1, b1);
                e1 = TVec.MulAdd(rn, y1, e1);
                b2 = TVec.MulAdd(qn, y2, b2);
                e2 = TVec.MulAdd(rn, y2, e2);
                b3 = TVec.MulAdd(qn, y3, b3);
                e3 = TVec.MulAdd(rn, y3, e3);
            }
            TVec sc = TVec.Broadcast(scale);
            TVec.Store(TVec.Mul(TVec.Add(a0, b0), sc), s + k0);
            TVec.Store(TVec.Mul(TVec.Add(a1, b1), sc), s + k0 + w);
            TVec.Store(TVec.Mul(TVec.Add(a2, b2), sc), s + k0 + 2 * w);
            TVec.Store(TVec.Mul(TVec.Add(a3, b3), sc), s + k0 + 3 * w);
            TVec.Store(TVec.Mul(TVec.Add(c0, e0), sc), s1 + k0);
            TVec.Store(TVec.Mul(TVec.Add(c1, e1), sc), s1 + k0 + w);
            TVec.Store(TVec.Mul(TVec.Add(c2, e2), sc), s1 + k0 + 2 * w);
            TVec.Store(TVec.Mul(TVec.Add(c3, e3), sc), s1 + k0 + 3 * w);
        }
    }

    /// <summary>
    /// s[0..n) (whole vectors, up to n rounded up) = scale · q·k for the tile's keys, which start at
    /// <paramref name="tile"/> in the blocked layout. Four vectors of keys at a time, each with two chains over
    /// the head dimension (even and odd c), keep eight FMAs in flight.
    /// </summary>
    static void Scores<TVec>(float* q, float* tile, int n, int d, float scale, float* s) where TVec : unmanaged, IFloatVector<TVec>
    {
        int w = TVec.Width;
        for (int k0 = 0; k0 < n; k0 += 4 * w)
        {
            // Vector i holds keys k0 + i·w ..: its own block when w = 16, half of one when w = 8.
            float* k = tile + KeyIndex(k0, 0, d), k1 = tile + KeyIndex(k0 + w, 0, d), k2 = tile + KeyIndex(k0 + 2 * w, 0, d),
                k3 = tile + KeyIndex(k0 + 3 * w, 0, d);
            TVec a0 = TVec.Zero, a1 = TVec.Zero, a2 = TVec.Zero, a3 = TVec.Zero;
            TVec b0 = TVec.Zero, b1 = TVec.Zero, b2 = TVec.Zero, b3 = TVec.Zero;
            for (int c = 0; c < d; c += 2)
            {
                long at = (long)c * KeyBlock, next = at + KeyBlock; // element c (c + 1) of a key block
                TVec qc = TVec.Broadcast(q[c]), qn = TVec.Broadcast(q[c + 1]);
                a0 = TVec.MulAdd(qc, TVec.Load(k + at), a0);
                a1 = TVec.MulAdd(qc, TVec.Load(k1 + at), a1);
                a2 = TVec.MulAdd(qc, TVec.Load(k2 + at), a2);
                a3 = TVec.MulAdd(qc, TVec.Load(k3 + at), a3);
                b0 = TVec.MulAdd(qn, TVec.Load(k + next), b0);
                b1 = TVec.MulAdd(qn, TVec.Load(k1 + next), b1);
                b2 = TVec.MulAdd(qn, TVec.Load(k2 + next), b2);
                b3 = TVec.MulAdd(qn, TVec.Load(k3 + next), b3);
            }
            TVec sc = TVec.Broadcast(scale);
            TVec.Store(TVec.Mul(TVec.Add(a0, b0), sc), s + k0);
            TVec.Store(TVec.Mul(TVec.Add(a1, b1), sc), s + k0 + w);
            TVec.Store(TVec.Mul(TVec.Add(a2, b2), sc), s + k0 + 2 * w);
            TVec.Store(TVec.Mul(TVec.Add(a3, b3), sc), s + k0 + 3 * w);
        }
    }
}
