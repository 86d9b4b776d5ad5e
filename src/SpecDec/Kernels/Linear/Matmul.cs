using System.Runtime.CompilerServices;
using SpecDec.Kernels.Quant;
using SpecDec.Tensors;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// Y[T × N] = X[T × K] · W[N × K]ᵀ for T = 1..MaxRows: the hot spot of every forward pass. One call may hold
/// several products that read the same X (q/k/v, gate/up): X is quantized once for all of them and their
/// output rows are split over the pool together, so each weight row is read from memory exactly once and
/// applied to all T activation rows — which is why verifying k draft tokens costs little more than one.
/// To add a weight type: a row kernel, a case in <see cref="FormOf"/> and in <see cref="Job.Execute"/>.
/// </summary>
public static unsafe class Matmul
{
    public const int MaxParts = 4;

    /// <summary>Runs every part on X[t × K] (all parts share K = X's row length); packed weights on <see cref="KernelPaths.For"/> the level.</summary>
    public static void Run(WorkerPool pool, MatmulWorkspace workspace, float* x, int t, SimdLevel level,
        params ReadOnlySpan<MatmulPart> parts) => Run(pool, workspace, x, t, level, KernelPaths.For(level), parts);

    /// <summary>Runs every part, packed weights on <paramref name="path"/> (tests and benchmarks run each path this CPU has).</summary>
    internal static void Run(WorkerPool pool, MatmulWorkspace workspace, float* x, int t, SimdLevel level, KernelPath path,
        params ReadOnlySpan<MatmulPart> parts)
    {
        if (parts.Length is 0 or > MaxParts) throw new ArgumentException($"a matmul call takes 1..{MaxParts} parts, not {parts.Length}");
        int k = parts[0].Weight.Columns;
        if (t < 1 || t > workspace.MaxRows) throw new ArgumentOutOfRangeException(nameof(t), t, $"T must be in 1..{workspace.MaxRows}");
        if (workspace.Threads < pool.ThreadCount)
            throw new ArgumentException($"the workspace has scratch for {workspace.Threads} threads, the pool runs {pool.ThreadCount}");
        if (k > workspace.MaxColumns) throw new ArgumentException($"K = {k} exceeds the workspace's {workspace.MaxColumns}");

        var job = new Job { Level = level, Path = path, Workspace = workspace.RowScratch(0), ScratchStride = workspace.RowScratchStride };
        job.X = new Activations { T = t, K = k, F32 = x };
        bool needQ8 = false, needQ8K = false, needScaled = false, needPasses = false;
        int items = 0;
        long work = 0;
        int targetItems = pool.ThreadCount * 8;
        for (int p = 0; p < parts.Length; p++)
        {
            LinearWeight w = parts[p].Weight;
            if (w.Columns != k) throw new ArgumentException($"part {p} has K = {w.Columns}, part 0 has {k}");
            ActivationForm form = FormOf(w.Type);
            if (form == ActivationForm.None) throw new NotSupportedException($"no matmul kernel for {w.Type} weights yet");
            needQ8 |= form == ActivationForm.Q8;
            needQ8K |= form == ActivationForm.Q8K;
            needPasses |= w.Type == GgmlType.Q8_0 && w.Packed != null && path != KernelPath.Scalar;
            needScaled |= w.FiniteHalves && level != SimdLevel.Scalar;
            // Chunks of whole 8-row groups (the packed layouts compute 8 rows at once), about 8 per thread over the
            // whole call, so a slow core delays little.
            const int group = Q8_0Packed.GroupRows;
            int chunk = Math.Max(group, ((w.Rows + targetItems - 1) / targetItems + group - 1) / group * group);
            job.Parts[p] = parts[p];
            job.ChunkRows[p] = chunk;
            job.FirstItem[p] = items;
            items += (w.Rows + chunk - 1) / chunk;
            work += (long)w.Rows * k * t;
        }
        job.PartCount = parts.Length;
        job.FirstItem[parts.Length] = items;

        if (needQ8)
        {
            if (k % ActivationQ8.Block != 0) throw new ArgumentException($"K = {k} is not a multiple of {ActivationQ8.Block}");
            job.X.Q8 = workspace.Q8;
            job.X.Q8Scale = workspace.Q8Scale;
            job.X.Q8Bias = workspace.Q8Bias;
            for (int r = 0; r < t; r++)
                ActivationQ8.Quantize(x + (long)r * k, k, job.X.Q8 + (long)r * k, job.X.Q8Scale + (long)r * (k / ActivationQ8.Block),
                    job.X.Q8Bias + (long)r * (k / ActivationQ8.Block), level);
            if (needPasses)
            {
                job.X.Q8Passes = workspace.Q8Passes;
                Q8_0Packed.Interleave(job.X.Q8, job.X.Q8Passes, t, k, pairs: path == KernelPath.Avx512BW);
            }
        }
        if (needQ8K)
        {
            job.X.Q8K = workspace.Q8K;
            job.X.Q8KScale = workspace.Q8KScale;
            job.X.Q8KSums = workspace.Q8KSums;
            for (int r = 0; r < t; r++)
                ActivationQ8K.Quantize(x + (long)r * k, k, job.X.Q8K + (long)r * k, job.X.Q8KScale + (long)r * (k / ActivationQ8K.Block),
                    job.X.Q8KSums + (long)r * (k / ActivationQ8K.SumGroup), level);
        }
        if (needScaled && workspace.F32Scaled != null && HalfBits.ScaleActivations(x, t * k, workspace.F32Scaled))
            job.X.F32Scaled = workspace.F32Scaled;
        pool.For(items, job, work);
    }

    enum ActivationForm { None, F32, Q8, Q8K }

    static ActivationForm FormOf(GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => ActivationForm.F32,
        GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.IQ4_NL or GgmlType.MXFP4 => ActivationForm.Q8,
        GgmlType.Q4_K or GgmlType.Q6_K or GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q5_K or GgmlType.IQ4_XS => ActivationForm.Q8K,
        _ => ActivationForm.None,
    };

    [InlineArray(MaxParts)]
    struct PartArray { MatmulPart _element; }

    [InlineArray(MaxParts + 1)]
    struct IntArray { int _element; }

    struct Job : IParallelJob
    {
        public Activations X;
        public PartArray Parts;
        public IntArray ChunkRows;
        public IntArray FirstItem; // [PartCount + 1] first work item of each part
        public int PartCount;
        public SimdLevel Level;
        public KernelPath Path;   // of the packed weights
        public float* Workspace;   // per-thread row scratch, ScratchStride floats each
        public int ScratchStride;

        public void Execute(int index, int thread)
        {
            int p = 0;
            while (index >= FirstItem[p + 1]) p++;
            ref readonly MatmulPart part = ref Parts[p];
            int row0 = (index - FirstItem[p]) * ChunkRows[p];
            int row1 = Math.Min(row0 + ChunkRows[p], part.Weight.Rows);
            float* scratch = Workspace + (long)thread * ScratchStride;
            switch (part.Weight.Type)
            {
                case GgmlType.Q8_0 when part.Weight.Packed != null:
                    Q8_0Packed.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.Q8_0:
                    Q8_0Matmul.Rows(part.Weight, X, part.Y, row0, row1, Level);
                    break;
                case GgmlType.Q4_0:
                    Q4_0Dot.Rows(part.Weight.Data, part.Weight.RowBytes, row0, row1, new Int8Rows(X.T, X.K, X.Q8, X.Q8Scale, null),
                        part.Y, part.Weight.Rows, Level);
                    break;
                case GgmlType.Q4_K when part.Weight.Packed != null:
                    Q4_KPacked.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.Q4_K:
                    Q4_KDot.Rows(part.Weight.Data, part.Weight.RowBytes, row0, row1, new Int8Rows(X.T, X.K, X.Q8K, X.Q8KScale, X.Q8KSums),
                        part.Y, part.Weight.Rows, Level);
                    break;
                case GgmlType.Q6_K when part.Weight.Packed != null:
                    Q6_KPacked.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.Q6_K:
                    Q6_KDot.Rows(part.Weight.Data, part.Weight.RowBytes, row0, row1, new Int8Rows(X.T, X.K, X.Q8K, X.Q8KScale, X.Q8KSums),
                        part.Y, part.Weight.Rows, Level);
                    break;
                case GgmlType.Q5_K when part.Weight.Packed != null:
                    Q5_KPacked.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.Q4_1 when part.Weight.Packed != null:
                    Block32Packed<BlockQ4_1>.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.Q5_0 when part.Weight.Packed != null:
                    Block32Packed<BlockQ5_0>.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.Q5_1 when part.Weight.Packed != null:
                    Block32Packed<BlockQ5_1>.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.IQ4_NL when part.Weight.Packed != null:
                    Block32Packed<BlockIQ4_NL>.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.MXFP4 when part.Weight.Packed != null:
                    Block32Packed<BlockMXFP4>.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.Q3_K when part.Weight.Packed != null:
                    SuperBlockPacked<BlockQ3_K>.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.IQ4_XS when part.Weight.Packed != null:
                    SuperBlockPacked<BlockIQ4_XS>.Rows(part.Weight, X, part.Y, row0, row1, Path);
                    break;
                case GgmlType.Q4_1: Block32<BlockQ4_1>(part, X, row0, row1, Level); break;
                case GgmlType.Q5_0: Block32<BlockQ5_0>(part, X, row0, row1, Level); break;
                case GgmlType.Q5_1: Block32<BlockQ5_1>(part, X, row0, row1, Level); break;
                case GgmlType.IQ4_NL: Block32<BlockIQ4_NL>(part, X, row0, row1, Level); break;
                case GgmlType.MXFP4: Block32<BlockMXFP4>(part, X, row0, row1, Level); break;
                case GgmlType.Q2_K: SuperBlocks<BlockQ2_K>(part, X, row0, row1, Level); break;
                case GgmlType.Q3_K: SuperBlocks<BlockQ3_K>(part, X, row0, row1, Level); break;
                case GgmlType.Q5_K: SuperBlocks<BlockQ5_K>(part, X, row0, row1, Level); break;
                case GgmlType.IQ4_XS: SuperBlocks<BlockIQ4_XS>(part, X, row0, row1, Level); break;
                default:
                    FloatMatmul.Rows(part.Weight, X, part.Y, row0, row1, scratch, Level);
                    break;
            }
        }

        /// <summary>A 32-block format against the Q8 activations (with their biases, for the offset term).</summary>
        static void Block32<TBlock>(in MatmulPart part, in Activations x, int row0, int row1, SimdLevel level) where TBlock : IBlock32 =>
            Block32Dot<TBlock>.Rows(part.Weight.Data, part.Weight.RowBytes, row0, row1, new Int8Rows(x.T, x.K, x.Q8, x.Q8Scale, null),
                x.Q8Bias, part.Y, part.Weight.Rows, level);

        /// <summary>A K-quant format against the Q8_K activations.</summary>
        static void SuperBlocks<TBlock>(in MatmulPart part, in Activations x, int row0, int row1, SimdLevel level) where TBlock : ISuperBlock =>
            SuperBlockDot<TBlock>.Rows(part.Weight.Data, part.Weight.RowBytes, row0, row1, new Int8Rows(x.T, x.K, x.Q8K, x.Q8KScale, x.Q8KSums),
                part.Y, part.Weight.Rows, level);
    }
}
