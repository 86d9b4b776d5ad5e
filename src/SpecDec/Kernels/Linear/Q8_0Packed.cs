using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SpecDec.Kernels.Quant;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Q8_0 weights repacked at load, and their matmul on every <see cref="KernelPath"/>. The file's layout (one row after another)
/// makes each activation row pay for sign fix-ups and a horizontal sum per weight row, so a batch of T rows
/// costs nearly T single-row passes. Here 8 weight rows are interleaved: one vpdpbusd multiplies 4 columns of
/// all 8 rows by 4 broadcast activation bytes, and the 8 lanes of the accumulator are the 8 outputs, so no
/// horizontal sum is needed and each extra activation row costs a few instructions per block.
///
/// Group layout (rows 8g..8g+7, zero rows past the end), per block of 32 columns, 272 bytes as in the file:
///   [8 × f16] the rows' scales (widening them to f32 at packing saved their conversion, 13 instructions per
///             block and pass, but on a 1B-shape file its 6 % more bytes cost single-token decode 5–12 %)
///   [8 chunks × 8 rows × 4 bytes] chunk j holds columns 4j..4j+3 of each row, as u8 = w + 128
/// vpdpbusd wants one unsigned operand; storing w + 128 makes it the weight, and the offset is taken back
/// exactly by starting each block's sum at −128·Σx (<see cref="Activations.Q8Bias"/>).
///
/// Each output is Σ_b fma(float(dot_b), d_w·d_x, acc) in block order, one lane per weight row, so the scalar
/// twin gives the same bits and a row's result does not depend on T. Without VNNI (<see cref="Avx2Dot"/>,
/// <see cref="Avx512BWDot"/>) the integer Σ w·x is the same, found from w = u ^ 0x80 with no bias.
/// </summary>
public readonly unsafe struct Q8_0Packed : IPackedGroupKernel
{
    public const int GroupRows = 8;
    const int BlockSize = BlockQ8_0.Size;
    const int ScaleBytes = GroupRows * 2;
    const int GroupBlockBytes = ScaleBytes + GroupRows * BlockSize; // 272

    /// <summary>Writes the packed copy of <paramref name="w"/> (file layout) into a zeroed buffer.</summary>
    static void IPackedGroupKernel.Pack(in LinearWeight w, byte* dst)
    {
        int blocks = w.Columns / BlockSize;
        int groups = (w.Rows + GroupRows - 1) / GroupRows;
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < blocks; b++)
            {
                byte* o = dst + ((long)g * blocks + b) * GroupBlockBytes;
                for (int r = 0; r < GroupRows; r++)
                {
                    int n = g * GroupRows + r;
                    byte* src = n < w.Rows ? w.Row(n) + b * BlockQ8_0.Bytes : null;
                    ((ushort*)o)[r] = src is null ? (ushort)0 : *(ushort*)src;
                    for (int i = 0; i < BlockSize; i++)
                        o[QuantOffset(r, i)] = (byte)((src is null ? 0 : ((sbyte*)src)[2 + i]) + 128);
                }
            }
    }

    /// <summary>Where quant i of row r sits in a group's block: chunk i / 4, then row r's 4 bytes.</summary>
    static int QuantOffset(int r, int i) => ScaleBytes + i / 4 * (GroupRows * 4) + r * 4 + i % 4;

    /// <summary>Outputs [row0, row1) of every activation row; row0 a multiple of <see cref="GroupRows"/>.</summary>
    internal static void Rows(in LinearWeight w, in Activations x, float* y, int row0, int row1, KernelPath path) =>
        PackedGroups.Rows<Q8_0Packed>(w, x, y, row0, row1, path);

    static int IPackedGroupKernel.BlockColumns => BlockSize;
    static int IPackedGroupKernel.GroupBlockBytes => GroupBlockBytes;

    static void IPackedGroupKernel.GroupScalar(byte* group, int blocks, in Activations x, float* y, int ldy, int valid)
    {
        for (int c = 0; c < x.T; c++)
        {
            sbyte* q = x.Q8 + (long)c * x.K;
            for (int r = 0; r < valid; r++)
            {
                float acc = 0;
                for (int b = 0; b < blocks; b++)
                {
                    byte* block = group + (long)b * GroupBlockBytes;
                    int dot = x.Q8Bias[(long)c * blocks + b];
                    for (int i = 0; i < BlockSize; i++)
                        dot += block[QuantOffset(r, i)] * q[b * BlockSize + i];
                    float scale = QuantFormat.HalfAt(block + 2 * r) * x.Q8Scale[(long)c * blocks + b];
                    acc = MathF.FusedMultiplyAdd(dot, scale, acc);
                }
                y[(long)c * ldy + r] = acc;
            }
        }
    }

    /// <summary>
    /// Activation rows one pass takes: with one chain a row (<see cref="OneChainRows"/>) the inner loop of 8 rows still fits the
    /// 16 registers VEX can name; the scaled outputs, touched once a block, are what the JIT keeps on the stack.
    /// </summary>
    const int MaxPassRows = 8;

    static int IPackedGroupKernel.MaxPassRows => MaxPassRows;

    static int IPackedGroupKernel.MaxWidePassRows => MaxWidePassRows;

    /// <summary>
    /// From this many rows on, each row's sum is one chain of multiply-adds; below it, two. A vpdpbusd waits 4 cycles on
    /// its chain's previous one and two issue per cycle, so about 8 chains keep the units busy; two chains a row at 8 rows
    /// left the accumulators no room and spilled them (hot kernel at T = 8: 114 against 101 GMAC/s per core for two
    /// passes of 4; at T = 5 two chains measured 4 % faster, at 6 and 7 level). The two-chain loop in
    /// <see cref="IPackedGroupKernel.Pass{TRows}"/> is written for the rows below it, up to 5.
    /// </summary>
    const int OneChainRows = 6;

    /// <summary>
    /// Activation rows c .. c + TRows.Count − 1 against each group of outputs [row0, row1), each weight block loaded
    /// once for all of them. Below <see cref="OneChainRows"/> rows each row runs two chains (even and odd chunks,
    /// interleaved across the rows; one row alone runs <see cref="Block{TDot}"/>). Integer sums: how they are split does
    /// not change the result.
    /// </summary>
    static void IPackedGroupKernel.Pass<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
    {
        if (TDot.Wide)
        {
            if (TRows.Count < PairRows) Pass512<TRows, TDot>(packed, blocks, row0, row1, x, c, y, ldy);
            else PairPass512<TRows, TDot>(packed, blocks, row0, row1, x, c, y, ldy);
            return;
        }
        int rows = TRows.Count;                 // a constant: each count compiles to its own loop
        int* q = (int*)(x.Q8Passes + (long)PassSlot(x.T, c, MaxPassRows) * x.K); // this pass's quants, block by block (Interleave)
        int* bias = x.Q8Bias + (long)c * blocks;
        float* dx = x.Q8Scale + (long)c * blocks;
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            int valid = Math.Min(GroupRows, row1 - n); // the last group may be ragged
            float* yg = y + n;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = group + (long)b * GroupBlockBytes;
                Prefetch.Lines(block, (GroupBlockBytes + 63) / 64);
                Vector256<float> ws = Halves(block);
                int* qb = q + b * rows * RowInts; // row i's block at qb + i·RowInts: constant offsets, no address arithmetic per chunk
                if (rows == 1)
                {
                    a0 = Block<TDot>(block, ws, qb, bias + b, dx + b, a0);
                    continue;
                }
                // Each row's sum starts at its bias (vpdpbusd) or 0; broadcasts come straight from memory (a load, not an ALU slot).
                int* bb = bias + b;
                Vector256<int> s0 = Start<TDot>(bb), s1 = Start<TDot>(bb + blocks);
                Vector256<int> s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                if (rows > 2) s2 = Start<TDot>(bb + 2 * blocks);
                if (rows > 3) s3 = Start<TDot>(bb + 3 * blocks);
                if (rows > 4) s4 = Start<TDot>(bb + 4 * blocks);
                if (rows > 5) s5 = Start<TDot>(bb + 5 * blocks);
                if (rows > 6) s6 = Start<TDot>(bb + 6 * blocks);
                if (rows > 7) s7 = Start<TDot>(bb + 7 * blocks);
                byte* w = block + ScaleBytes;
                if (rows >= OneChainRows)
                {
                    int* qj = qb;
                    for (byte* wj = w, wEnd = w + GroupRows * BlockSize; wj < wEnd; wj += 32, qj++) // pointers: two scalar adds a chunk
                    {
                        OffsetWeights chunk = TDot.Prepare(Vector256.Load(wj));
                        s0 = Chunk<TDot>(s0, chunk, qj);
                        s1 = Chunk<TDot>(s1, chunk, qj + RowInts);
                        s2 = Chunk<TDot>(s2, chunk, qj + 2 * RowInts);
                        s3 = Chunk<TDot>(s3, chunk, qj + 3 * RowInts);
                        s4 = Chunk<TDot>(s4, chunk, qj + 4 * RowInts);
                        s5 = Chunk<TDot>(s5, chunk, qj + 5 * RowInts);
                        if (rows > 6) s6 = Chunk<TDot>(s6, chunk, qj + 6 * RowInts);
                        if (rows > 7) s7 = Chunk<TDot>(s7, chunk, qj + 7 * RowInts);
                    }
                }
                else
                {
                    Vector256<int> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default; // odd chunks
                    int* qe = qb;
                    for (byte* wj = w, wEnd = w + GroupRows * BlockSize; wj < wEnd; wj += 64, qe += 2)
                    {
                        OffsetWeights even = TDot.Prepare(Vector256.Load(wj)), odd = TDot.Prepare(Vector256.Load(wj + 32));
                        int* qo = qe + 1;
                        s0 = Chunk<TDot>(s0, even, qe);
                        t0 = Chunk<TDot>(t0, odd, qo);
                        s1 = Chunk<TDot>(s1, even, qe + RowInts);
                        t1 = Chunk<TDot>(t1, odd, qo + RowInts);
                        if (rows > 2) { s2 = Chunk<TDot>(s2, even, qe + 2 * RowInts); t2 = Chunk<TDot>(t2, odd, qo + 2 * RowInts); }
                        if (rows > 3) { s3 = Chunk<TDot>(s3, even, qe + 3 * RowInts); t3 = Chunk<TDot>(t3, odd, qo + 3 * RowInts); }
                        if (rows > 4) { s4 = Chunk<TDot>(s4, even, qe + 4 * RowInts); t4 = Chunk<TDot>(t4, odd, qo + 4 * RowInts); }
                    }
                    s0 += t0;
                    s1 += t1;
                    if (rows > 2) s2 += t2;
                    if (rows > 3) s3 += t3;
                    if (rows > 4) s4 += t4;
                }
                float* db = dx + b;
                a0 = Scale(s0, ws, db, a0);
                a1 = Scale(s1, ws, db + blocks, a1);
                if (rows > 2) a2 = Scale(s2, ws, db + 2 * blocks, a2);
                if (rows > 3) a3 = Scale(s3, ws, db + 3 * blocks, a3);
                if (rows > 4) a4 = Scale(s4, ws, db + 4 * blocks, a4);
                if (rows > 5) a5 = Scale(s5, ws, db + 5 * blocks, a5);
                if (rows > 6) a6 = Scale(s6, ws, db + 6 * blocks, a6);
                if (rows > 7) a7 = Scale(s7, ws, db + 7 * blocks, a7);
            }
            StoreRows<TRows>(yg + (long)c * ldy, ldy, valid, a0, a1, a2, a3, a4, a5, a6, a7);
        }
    }

    /// <summary>Ints of one activation row's block of quants.</summary>
    const int RowInts = BlockSize / 4;

    /// <summary>
    /// <see cref="Activations.Q8Passes"/> from the quants q[t × k], pass by pass as <see cref="PackedGroups"/> splits the t rows,
    /// pass p's from row c + p on (<see cref="PassSlot"/>: room for an odd pass's last row twice; the 512-bit passes take up
    /// to <see cref="MaxWidePassRows"/> rows). For the 256-bit passes, block
    /// by block, each of the pass's rows' 32 quants of the block. Read from the row-major quants, a pass's rows sit K bytes
    /// apart, and the JIT spent about 13 scalar instructions a chunk of 8 rows on their addresses (on the vector ALU ports
    /// too); here one register and constant offsets reach them. For the 512-bit passes (<paramref name="pairs"/>), block by
    /// block, each pair of rows' chunks side by side: [a_0, b_0, a_1, b_1, …, a_7, b_7] (4 quants each; an odd last row
    /// is its own b), so one 8-byte broadcast gives a chunk of both (<see cref="PairPass512{TRows, TDot}"/>). Once per
    /// call, shared by every weight row.
    /// </summary>
    internal static void Interleave(sbyte* q, sbyte* dst, int t, int k, bool pairs)
    {
        int blocks = k / BlockSize;
        int max = pairs ? MaxWidePassRows : MaxPassRows;
        int passes = PackedGroups.Passes(t, max);
        for (int p = 0, c = 0; p < passes; p++)
        {
            int rows = PackedGroups.PassRows(t, passes, p);
            sbyte* o = dst + (long)(c + p) * k;
            if (!pairs)
                for (int b = 0; b < blocks; b++)
                    for (int i = 0; i < rows; i++)
                        Vector256.Load(q + (long)(c + i) * k + b * BlockSize).Store(o + ((long)b * rows + i) * BlockSize);
            else
            {
                int count = (rows + 1) / 2;
                for (int b = 0; b < blocks; b++)
                    for (int i = 0; i < count; i++)
                    {
                        Vector256<int> a = Vector256.Load((int*)(q + (long)(c + 2 * i) * k + b * BlockSize));
                        Vector256<int> e = Vector256.Load((int*)(q + (long)(c + Math.Min(2 * i + 1, rows - 1)) * k + b * BlockSize));
                        Vector256<int> lo = Avx2.UnpackLow(a, e), hi = Avx2.UnpackHigh(a, e); // [a0 e0 a1 e1 | a4 e4 a5 e5], [a2 e2 a3 e3 | a6 e6 a7 e7]
                        sbyte* pair = o + ((long)b * count + i) * 2 * BlockSize;
                        Avx2.Permute2x128(lo, hi, 0x20).Store((int*)pair);
                        Avx2.Permute2x128(lo, hi, 0x31).Store((int*)(pair + BlockSize));
                    }
            }
            c += rows;
        }
    }

    /// <summary>Rows of <see cref="Activations.Q8Passes"/> before the pass that starts at activation row c of t, passes of up to <paramref name="maxPassRows"/>: c + the passes before it.</summary>
    static int PassSlot(int t, int c, int maxPassRows)
    {
        int passes = PackedGroups.Passes(t, maxPassRows), shortRows = t / passes, longPasses = t % passes;
        int longRows = longPasses * (shortRows + 1);
        return c + (c < longRows ? c / (shortRows + 1) : longPasses + (c - longRows) / shortRows);
    }

    /// <summary>Bytes of <see cref="Activations.Q8Passes"/> for up to <paramref name="t"/> rows of k columns, one spare row a pass.</summary>
    internal static long PassesBytes(int t, int k) => (long)(t + PackedGroups.Passes(t, MaxPassRows)) * k;

    /// <summary>
    /// The 512-bit pass (AVX-512BW): a vector holds chunks 2p and 2p + 1 of the 8 rows, and the activation row's block
    /// (8 ints) is spread to match by one vpermd, [q_2p × 8, q_2p+1 × 8]. A row's 16 lanes fold to its 8 sums per block.
    /// vpmaddubsw's adds cost one cycle, so one chain a row keeps the units busy. From <see cref="PairRows"/> rows on,
    /// <see cref="PairPass512{TRows, TDot}"/> instead.
    /// </summary>
    static void Pass512<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
        where TRows : struct, IPassRows where TDot : struct, IInt8Dot
    {
        int rows = TRows.Count;
        int stride = x.K;       // bytes from one activation row's quants to the next
        sbyte* q = x.Q8 + (long)c * x.K;
        float* dx = x.Q8Scale + (long)c * blocks;
        Vector512<int> pick0 = Pick(0), pick1 = Pick(2), pick2 = Pick(4), pick3 = Pick(6);
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            int valid = Math.Min(GroupRows, row1 - n);
            float* yg = y + n;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = group + (long)b * GroupBlockBytes;
                Prefetch.Lines(block, (GroupBlockBytes + 63) / 64);
                Vector256<float> ws = Halves(block);
                byte* w = block + ScaleBytes;
                var wb = new Block512
                {
                    W0 = TDot.Prepare(Vector512.Load(w)), W1 = TDot.Prepare(Vector512.Load(w + 64)),
                    W2 = TDot.Prepare(Vector512.Load(w + 128)), W3 = TDot.Prepare(Vector512.Load(w + 192)),
                    Pick0 = pick0, Pick1 = pick1, Pick2 = pick2, Pick3 = pick3,
                };
                sbyte* qb = q + b * BlockSize;
                float* db = dx + b;
                a0 = Scale(Sum512<TDot>(wb, qb), ws, db, a0);
                if (rows > 1) a1 = Scale(Sum512<TDot>(wb, qb + stride), ws, db + blocks, a1);
                if (rows > 2) a2 = Scale(Sum512<TDot>(wb, qb + 2 * stride), ws, db + 2 * blocks, a2);
                if (rows > 3) a3 = Scale(Sum512<TDot>(wb, qb + 3 * stride), ws, db + 3 * blocks, a3);
                if (rows > 4) a4 = Scale(Sum512<TDot>(wb, qb + 4 * stride), ws, db + 4 * blocks, a4);
                if (rows > 5) a5 = Scale(Sum512<TDot>(wb, qb + 5 * stride), ws, db + 5 * blocks, a5);
                if (rows > 6) a6 = Scale(Sum512<TDot>(wb, qb + 6 * stride), ws, db + 6 * blocks, a6);
                if (rows > 7) a7 = Scale(Sum512<TDot>(wb, qb + 7 * stride), ws, db + 7 * blocks, a7);
            }
            StoreRows<TRows>(yg + (long)c * ldy, ldy, valid, a0, a1, a2, a3, a4, a5, a6, a7);
        }
    }

    /// <summary>
    /// The 512-bit pass (AVX-512BW) of <see cref="PairRows"/> to <see cref="MaxWidePassRows"/> rows, two activation rows at a
    /// time. Each 4-column chunk of the 8 weight rows is spread once per pass to [row 0, row 0, row 1, row 1, …] (one vpermd,
    /// shared by the pass's rows), and a pair of activation rows' 4 quants of the chunk, stored side by side
    /// (<see cref="Interleave"/>), is one 8-byte broadcast from memory: lane 2i sums weight row i against the pair's first
    /// row, lane 2i + 1 against its second. Per chunk and pair that is the sign fix-up, vpmaddubsw, vpmaddwd and an add for
    /// 64 products, where <see cref="Pass512{TRows, TDot}"/> spends a vpermd more; the spread and the weights' preparation
    /// per chunk are what few rows do not repay. An odd last row is paired with itself.
    /// </summary>
    static void PairPass512<TRows, TDot>(byte* packed, int blocks, int row0, int row1, in Activations x, int c, float* y, int ldy)
        where TRows : struct, IPassRows where TDot : struct, IInt8Dot
    {
        int rows = TRows.Count;
        int pairs = (rows + 1) / 2;
        long* q = (long*)(x.Q8Passes + (long)PassSlot(x.T, c, MaxWidePassRows) * x.K); // this pass's pairs, block by block (Interleave)
        float* dx = x.Q8Scale + (long)c * blocks;
        int last = (rows - 1) * blocks; // the last row's scales: an odd row's pair reads them twice
        Vector512<int> spread = Vector512.Create(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        Vector512<int> split = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        for (int n = row0; n < row1; n += GroupRows)
        {
            byte* group = packed + (long)(n / GroupRows) * blocks * GroupBlockBytes;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int b = 0; b < blocks; b++)
            {
                byte* block = group + (long)b * GroupBlockBytes;
                Prefetch.Lines(block, (GroupBlockBytes + 63) / 64);
                byte* w = block + ScaleBytes;
                long* qb = q + b * pairs * RowInts; // pair i's block at qb + i·RowInts longs (64 bytes)
                Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                for (int j = 0; j < BlockSize / 4; j++)
                {
                    OffsetWeights512 chunk = TDot.Prepare(Avx512F.PermuteVar16x32(Vector256.Load((int*)(w + j * 32)).ToVector512Unsafe(), spread).AsByte());
                    long* qj = qb + j;
                    s0 = TDot.Offset(s0, chunk, Vector512.Create(*qj).AsSByte());
                    s1 = TDot.Offset(s1, chunk, Vector512.Create(qj[RowInts]).AsSByte());
                    s2 = TDot.Offset(s2, chunk, Vector512.Create(qj[2 * RowInts]).AsSByte());
                    if (pairs > 3) s3 = TDot.Offset(s3, chunk, Vector512.Create(qj[3 * RowInts]).AsSByte());
                    if (pairs > 4) s4 = TDot.Offset(s4, chunk, Vector512.Create(qj[4 * RowInts]).AsSByte());
                    if (pairs > 5) s5 = TDot.Offset(s5, chunk, Vector512.Create(qj[5 * RowInts]).AsSByte());
                    if (pairs > 6) s6 = TDot.Offset(s6, chunk, Vector512.Create(qj[6 * RowInts]).AsSByte());
                    if (pairs > 7) s7 = TDot.Offset(s7, chunk, Vector512.Create(qj[7 * RowInts]).AsSByte());
                }
                Vector512<float> ws = Avx512F.PermuteVar16x32(Halves(block).ToVector512Unsafe(), spread); // [d_0, d_0, d_1, d_1, …]
                float* db = dx + b;
                a0 = PairScale(s0, ws, db, db + blocks, a0);
                a1 = PairScale(s1, ws, db + 2 * blocks, db + 3 * blocks, a1);
                a2 = PairScale(s2, ws, db + 4 * blocks, db + Math.Min(5 * blocks, last), a2);
                if (pairs > 3) a3 = PairScale(s3, ws, db + 6 * blocks, db + Math.Min(7 * blocks, last), a3);
                if (pairs > 4) a4 = PairScale(s4, ws, db + 8 * blocks, db + Math.Min(9 * blocks, last), a4);
                if (pairs > 5) a5 = PairScale(s5, ws, db + 10 * blocks, db + Math.Min(11 * blocks, last), a5);
                if (pairs > 6) a6 = PairScale(s6, ws, db + 12 * blocks, db + Math.Min(13 * blocks, last), a6);
                if (pairs > 7) a7 = PairScale(s7, ws, db + 14 * blocks, db + Math.Min(15 * blocks, last), a7);
            }
            int valid = Math.Min(GroupRows, row1 - n);
            float* yg = y + n + (long)c * ldy;
            StorePair(Avx512F.PermuteVar16x32(a0, split), yg, ldy, true, valid);
            StorePair(Avx512F.PermuteVar16x32(a1, split), yg + 2L * ldy, ldy, true, valid);
            StorePair(Avx512F.PermuteVar16x32(a2, split), yg + 4L * ldy, ldy, rows > 5, valid);
            if (pairs > 3) StorePair(Avx512F.PermuteVar16x32(a3, split), yg + 6L * ldy, ldy, rows > 7, valid);
            if (pairs > 4) StorePair(Avx512F.PermuteVar16x32(a4, split), yg + 8L * ldy, ldy, rows > 9, valid);
            if (pairs > 5) StorePair(Avx512F.PermuteVar16x32(a5, split), yg + 10L * ldy, ldy, rows > 11, valid);
            if (pairs > 6) StorePair(Avx512F.PermuteVar16x32(a6, split), yg + 12L * ldy, ldy, rows > 13, valid);
            if (pairs > 7) StorePair(Avx512F.PermuteVar16x32(a7, split), yg + 14L * ldy, ldy, rows > 15, valid);
        }
    }

    /// <summary>
    /// Rows from which a 512-bit pass goes in pairs (<see cref="PairPass512{TRows, TDot}"/>): one 2048 × 2048 weight, one
    /// thread, thread CPU time at T = 2..8, ms, the single-row form against pairs: 0.21/0.24, 0.28/0.35, 0.35/0.35,
    /// 0.42/0.45, 0.49/0.45, 0.56/0.56, 0.63/0.56.
    /// </summary>
    internal const int PairRows = 6;

    /// <summary>Most rows a 512-bit pass takes: 8 pairs' sums and outputs are 16 of the 32 registers EVEX can name.</summary>
    internal const int MaxWidePassRows = 16;

    /// <summary>acc + float(s) · d_w·d_x for a pair's lanes: d_x alternates the pair's two rows' scales, [da, db, da, db, …].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> PairScale(Vector512<int> s, Vector512<float> ws, float* da, float* db, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(s),
            ws * Avx512F.UnpackLow(Vector512.Create(*da), Vector512.Create(*db)), acc);

    /// <summary>A pair's outputs, split to [first row's 8, second row's 8], to y and (where there is a second row) y + ldy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StorePair(Vector512<float> v, float* y, int ldy, bool second, int valid)
    {
        Store(v.GetLower(), y, valid);
        if (second) Store(v.GetUpper(), y + ldy, valid);
    }

    /// <summary>One block of a group as the 512-bit pass reads it: the 4 chunk pairs, prepared, and the vpermd indices that spread an activation block to match.</summary>
    struct Block512
    {
        public OffsetWeights512 W0, W1, W2, W3;
        public Vector512<int> Pick0, Pick1, Pick2, Pick3;
    }

    /// <summary>Lane indices [j × 8, j+1 × 8] for vpermd.</summary>
    internal static Vector512<int> Pick(int j) => Vector512.Create(Vector256.Create(j), Vector256.Create(j + 1));

    /// <summary>The 8 rows' integer sums Σ w·x over one block, for the activation block of 32 quants at q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Sum512<TDot>(in Block512 wb, sbyte* q) where TDot : struct, IInt8Dot
    {
        Vector512<int> xs = Vector256.Load((int*)q).ToVector512Unsafe();
        Vector512<int> s = TDot.Offset(Vector512<int>.Zero, wb.W0, Avx512F.PermuteVar16x32(xs, wb.Pick0).AsSByte());
        s = TDot.Offset(s, wb.W1, Avx512F.PermuteVar16x32(xs, wb.Pick1).AsSByte());
        s = TDot.Offset(s, wb.W2, Avx512F.PermuteVar16x32(xs, wb.Pick2).AsSByte());
        s = TDot.Offset(s, wb.W3, Avx512F.PermuteVar16x32(xs, wb.Pick3).AsSByte());
        return s.GetLower() + s.GetUpper();
    }

    /// <summary>A row's block sum starts at its bias where the path sums the stored u = w + 128 (<see cref="IInt8Dot.Biased"/>), else at 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Start<TDot>(int* bias) where TDot : struct, IInt8Dot =>
        TDot.Biased ? Avx2.BroadcastScalarToVector256(bias) : Vector256<int>.Zero;

    /// <summary>s + the 8 rows' products of one 4-column chunk with the activation's 4 quants at q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Chunk<TDot>(Vector256<int> s, in OffsetWeights w, int* q) where TDot : struct, IInt8Dot =>
        TDot.Offset(s, w, Avx2.BroadcastScalarToVector256(q).AsSByte());

    /// <summary>acc + float(s) · d_w·d_x: one block's integer sums scaled into the 8 rows' outputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Scale(Vector256<int> s, Vector256<float> ws, float* dx, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Avx.ConvertToVector256Single(s), ws * Avx.BroadcastScalarToVector256(dx), acc);

    /// <summary>One row's block, two chains: acc + float(Σ w·x over the block) · d_w·d_x for the group's 8 rows; q = the block's 32 quants as 8 ints.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Block<TDot>(byte* block, Vector256<float> ws, int* q, int* bias, float* dx, Vector256<float> acc)
        where TDot : struct, IInt8Dot
    {
        byte* w = block + ScaleBytes;
        // Two independent chains (integer sums: the split does not change the result) halve the latency.
        Vector256<int> s0 = Start<TDot>(bias), s1 = Vector256<int>.Zero;
        s0 = TDot.Offset(s0, TDot.Prepare(Vector256.Load(w)), Vector256.Create(q[0]).AsSByte());
        s1 = TDot.Offset(s1, TDot.Prepare(Vector256.Load(w + 32)), Vector256.Create(q[1]).AsSByte());
        s0 = TDot.Offset(s0, TDot.Prepare(Vector256.Load(w + 64)), Vector256.Create(q[2]).AsSByte());
        s1 = TDot.Offset(s1, TDot.Prepare(Vector256.Load(w + 96)), Vector256.Create(q[3]).AsSByte());
        s0 = TDot.Offset(s0, TDot.Prepare(Vector256.Load(w + 128)), Vector256.Create(q[4]).AsSByte());
        s1 = TDot.Offset(s1, TDot.Prepare(Vector256.Load(w + 160)), Vector256.Create(q[5]).AsSByte());
        s0 = TDot.Offset(s0, TDot.Prepare(Vector256.Load(w + 192)), Vector256.Create(q[6]).AsSByte());
        s1 = TDot.Offset(s1, TDot.Prepare(Vector256.Load(w + 224)), Vector256.Create(q[7]).AsSByte());
        return Scale(s0 + s1, ws, dx, acc);
    }

    /// <summary>A pass's outputs: row i of the pass (TRows.Count of them) to y + i·ldy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreRows<TRows>(float* y, int ldy, int valid, Vector256<float> a0, Vector256<float> a1, Vector256<float> a2,
        Vector256<float> a3, Vector256<float> a4, Vector256<float> a5, Vector256<float> a6, Vector256<float> a7) where TRows : struct, IPassRows
    {
        int rows = TRows.Count;
        Store(a0, y, valid);
        if (rows > 1) Store(a1, y + ldy, valid);
        if (rows > 2) Store(a2, y + 2L * ldy, valid);
        if (rows > 3) Store(a3, y + 3L * ldy, valid);
        if (rows > 4) Store(a4, y + 4L * ldy, valid);
        if (rows > 5) Store(a5, y + 5L * ldy, valid);
        if (rows > 6) Store(a6, y + 6L * ldy, valid);
        if (rows > 7) Store(a7, y + 7L * ldy, valid);
    }

    /// <summary>The 8 f16 values at p as floats, bit for bit what <see cref="QuantFormat.HalfAt"/> gives each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Halves(byte* p) => Dequantize.HalfToFloat(Avx2.ConvertToVector256Int32((ushort*)p).AsUInt32());

    /// <summary>A group's 8 outputs to y, or its first <paramref name="valid"/> at the ragged end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store(Vector256<float> v, float* y, int valid)
    {
        if (valid == GroupRows) v.Store(y);
        else for (int r = 0; r < valid; r++) y[r] = v.GetElement(r);
    }
}
