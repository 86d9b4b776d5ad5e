using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SpecDec.Backends.Cuda.Driver;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Backends.Cuda;

/// <summary>
/// The kernels of Kernels/specdec.cu loaded into a device's context: compiled for the card by NVRTC when the
/// toolkit's libnvrtc is installed, else from the PTX shipped beside the source, which the driver compiles (and
/// caches) itself, so a machine with only the NVIDIA driver runs them. SPECDEC_CUDA_KERNELS=ptx forces the PTX, and
/// SPECDEC_CUDA_PTX=file takes the PTX from a file instead of the assembly, SPECDEC_CUDA_SOURCE=file compiles that source.
/// </summary>
internal sealed unsafe class CudaKernels
{
    internal const string SourceResource = "SpecDec.Backends.Cuda.Kernels.specdec.cu";
    internal const string PtxResource = "SpecDec.Backends.Cuda.Kernels.specdec.ptx";

    /// <summary>The PTX's first line: this prefix and the SHA-256 of the source it was made from.</summary>
    internal const string HashPrefix = "// specdec.cu sha256 ";

    /// <summary>Matmul row-group sizes: a kernel per R, chosen by the batch's row count.</summary>
    static readonly int[] RowGroups = [1, 2, 4, 8];

    /// <summary>Tensor-core matmuls: tiles of 8 activation rows per kernel (up to a chunk's 64), for these weight types.</summary>
    static readonly int[] Tiles = [1, 2, 4, 8];
    static readonly (GgmlType Type, string Name)[] TensorCoreTypes = [(GgmlType.BF16, "bf16"), (GgmlType.Q8_0, "q8_0")];

    /// <summary>Threads of an RMSNorm block (rmsnorm, norm_quantize_q8, norm_split_bf16), whose summation order they fix.</summary>
    internal const uint NormThreads = 256;

    /// <summary>Threads of a tensor-core matmul block (specdec.cu's TCW warps) and the weight rows it owns.</summary>
    internal const uint TensorCoreThreads = 256, TensorCoreRows = 16;

    /// <summary>The attention kernel's key segments: at most this many per row (specdec.cu's MAXSPLIT).</summary>
    public const int MaxSplits = 16;

    readonly CudaApi _api;
    readonly nint _stream;
    readonly nint _module;
    readonly Dictionary<GgmlType, nint[]> _matmul = [], _glu = [], _matmulTc = [], _gluTc = [];
    readonly nint _streamMatmul, _streamGlu;
    readonly int _multiprocessors, _sharedPerBlock, _sharedPerMultiprocessor;
    readonly nint[] _matmulQ8, _gluQ8;

    public CudaKernels(CudaDevice device)
    {
        _api = device.Api;
        _stream = device.Stream;
        _multiprocessors = device.Multiprocessors;
        _sharedPerBlock = device.SharedPerBlock;
        _sharedPerMultiprocessor = device.SharedPerMultiprocessor;
        byte[] image;
        bool forcePtx = Environment.GetEnvironmentVariable("SPECDEC_CUDA_KERNELS") == "ptx";
        var compiled = forcePtx ? null : CompileCached(device);
        if (compiled is { } c)
        {
            image = c.Image;
            Source = c.Version == "cached" ? $"NVRTC cubin from the cache, sm_{device.ComputeMajor}{device.ComputeMinor}" : $"NVRTC {c.Version}, sm_{device.ComputeMajor}{device.ComputeMinor}";
        }
        else
        {
            // SPECDEC_CUDA_PTX=file loads a PTX made by build-ptx.sh before it is shipped (docs/gpu.md).
            string? file = Environment.GetEnvironmentVariable("SPECDEC_CUDA_PTX");
            image = Encoding.UTF8.GetBytes((file is null ? ReadResource(PtxResource) : File.ReadAllText(file)) + "\0");
            Source = file is null ? "shipped PTX, compiled by the driver" : $"PTX from {file}, compiled by the driver";
        }
        nint module;
        fixed (byte* i = image)
        {
            int status = _api.cuModuleLoadDataEx(&module, i, 0, null, null);
            if (status != 0)
                throw new SpecDecException($"--device cuda: the driver could not load the kernels ({Source}): {_api.ErrorName(status)}"
                    + (compiled is null ? "; the shipped PTX needs an NVIDIA driver of release 580 or later, or install the CUDA toolkit's NVRTC" : ""));
        }
        _module = module;
        foreach (var (type, name) in TypeNames)
        {
            _matmul[type] = RowGroups.Select(r => Function($"mm_{name}_r{r}")).ToArray();
            _glu[type] = RowGroups.Select(r => Function($"glu_{name}_r{r}")).ToArray();
        }
        _matmulQ8 = RowGroups.Select(r => Function($"mmq_q8_0_r{r}")).ToArray();
        _gluQ8 = RowGroups.Select(r => Function($"gluq_q8_0_r{r}")).ToArray();
        foreach (var (type, name) in TensorCoreTypes)
        {
            _matmulTc[type] = Tiles.Select(n => Function($"mmt_{name}_n{n}")).ToArray();
            _gluTc[type] = Tiles.Select(n => Function($"glut_{name}_n{n}")).ToArray();
        }
        _streamMatmul = Function("mms_bf16");
        _streamGlu = Function("glus_bf16");
        // The streaming kernel's ring lives in dynamic shared memory, above the default 48 KB a block may ask for.
        foreach (nint f in new[] { _streamMatmul, _streamGlu })
            _api.Check(_api.cuFuncSetAttribute(f, 8 /* CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES */, _sharedPerBlock), "cuFuncSetAttribute");
        TensorCores = device.ComputeMajor >= 8 && Environment.GetEnvironmentVariable("SPECDEC_CUDA_TENSOR_CORES") != "0";
        Dependent = compiled is not null && device.ComputeMajor >= 9 && _api.cuLaunchKernelEx != null
            && Environment.GetEnvironmentVariable("SPECDEC_CUDA_PDL") != "0";
        SplitBf16 = Function("split_bf16");
        QuantizeQ8 = Function("quantize_q8");
        NormSplitBf16 = Function("norm_split_bf16");
        NormQuantizeQ8 = Function("norm_quantize_q8");
        RmsNorm = Function("rmsnorm");
        SwiGlu = Function("swiglu");
        RopeStore = [Function("rope_store_f32"), Function("rope_store_f16")];
        Attention = new[] { "f32", "f16" }.Select(c => AttentionDims.Select(d => Function($"attention_{c}_d{d}")).ToArray()).ToArray();
        KeepRows = [Function("keep_rows_f32"), Function("keep_rows_f16")];
    }

    /// <summary>Float weight types of the generic matmul (Q8_0 has its own, over int8 activations).</summary>
    static readonly (GgmlType Type, string Name)[] TypeNames = [(GgmlType.F32, "f32"), (GgmlType.F16, "f16"), (GgmlType.BF16, "bf16")];

    /// <summary>Every kernel the backend looks up in the module.</summary>
    internal static IEnumerable<string> FunctionNames =>
        TypeNames.Select(t => t.Name).Append("q8_0")
            .SelectMany(t => RowGroups.SelectMany(r => t == "q8_0" ? new[] { $"mmq_{t}_r{r}", $"gluq_{t}_r{r}" } : [$"mm_{t}_r{r}", $"glu_{t}_r{r}"]))
            .Concat(TensorCoreTypes.SelectMany(t => Tiles.SelectMany(n => new[] { $"mmt_{t.Name}_n{n}", $"glut_{t.Name}_n{n}" })))
            .Concat(["mms_bf16", "glus_bf16"])
            .Concat(new[] { "f32", "f16" }.SelectMany(c => AttentionDims.Select(d => $"attention_{c}_d{d}")))
            .Concat(["split_bf16", "quantize_q8", "norm_split_bf16", "norm_quantize_q8", "rmsnorm", "swiglu", "rope_store_f32", "rope_store_f16", "keep_rows_f32", "keep_rows_f16"]);

    /// <summary>The attention kernels' bounds on the head dimension (specdec.cu's D): one kernel each.</summary>
    static readonly int[] AttentionDims = [64, 128, 256];

    /// <summary>The attention kernel for a cache of <paramref name="half"/> (1: f16) and head dimension <paramref name="headDim"/> ≤ 256.</summary>
    public nint AttentionFor(int half, int headDim) => Attention[half][Array.FindIndex(AttentionDims, d => headDim <= d)];

    /// <summary>Where the module came from, for perf's report.</summary>
    public string Source { get; }

    /// <summary>Weight types the matmul kernels read.</summary>
    public static IReadOnlyList<GgmlType> MatrixTypes { get; } = TypeNames.Select(t => t.Type).Append(GgmlType.Q8_0).ToArray();

    /// <summary>Rounds activation rows to Q8_0 blocks (int8 + f32 scale), as the CPU's ActivationQ8.</summary>
    public nint QuantizeQ8 { get; }

    /// <summary>Splits f32 activation rows into three bf16 terms for the BF16 tensor-core matmul.</summary>
    public nint SplitBf16 { get; }

    /// <summary>RMSNorm fused into <see cref="SplitBf16"/> and <see cref="QuantizeQ8"/> (the same bits as the norm, then those).</summary>
    nint NormSplitBf16 { get; }
    nint NormQuantizeQ8 { get; }

    /// <summary>
    /// Whether a matmul of <paramref name="w"/> over <paramref name="rows"/> rows takes its input's RMSNorm itself
    /// (<see cref="RowNorm"/>), where a launch that rounds the activations anyway can: Q8_0 norms while rounding to int8
    /// (norm_quantize_q8) up to 8 rows, BF16 on tensor cores while splitting into bf16 terms (norm_split_bf16) above 16
    /// rows. Each gives rmsnorm's bits in one launch instead of two (H100, 1B, 2026-12-06: Q8_0 decode 582–585 →
    /// 592–599 tok/s, BF16 c(64) 2.95–2.99 → 2.83–2.87). Elsewhere it measured no faster or slower: Q8_0 over 8 rows,
    /// and BF16 up to 16 rows normed in the matmul's own activation load (every block summing its rows' squares first:
    /// decode unchanged, c(16) 1.55 → 1.75). SPECDEC_CUDA_FUSE_NORM=0 keeps the separate norm.
    /// </summary>
    public bool FusesNorm(DeviceMatrix w, int rows) =>
        FuseNorm && (w.Type == GgmlType.Q8_0 ? rows <= 8 : TensorCores && w.Type == GgmlType.BF16 && rows > 16);

    static readonly bool FuseNorm = Environment.GetEnvironmentVariable("SPECDEC_CUDA_FUSE_NORM") != "0";

    /// <summary>
    /// Whether BF16 and Q8_0 matrices go through the tensor-core kernels (sm_80 and newer; SPECDEC_CUDA_TENSOR_CORES=0
    /// keeps the warp-per-row kernels, for comparison).
    /// </summary>
    public bool TensorCores { get; }
    public nint RmsNorm { get; }
    public nint SwiGlu { get; }

    /// <summary>[f32 cache, f16 cache].</summary>
    public nint[] RopeStore { get; }

    /// <summary>[f32 cache, f16 cache][head dimension bound].</summary>
    nint[][] Attention { get; }
    public nint[] KeepRows { get; }

    /// <summary>
    /// y[rows × w.Rows] (+)= x[rows × w.Ld] · Wᵀ, x's rows w.Ld apart and y's <paramref name="ldy"/>; with
    /// <paramref name="up"/> (same shape and type), y = silu(x·Wᵀ) · (x·Upᵀ). Q8_0 first rounds x into the scratch's
    /// int8 rows, the BF16 tensor-core kernel first splits it into bf16 terms there. With <paramref name="norm"/>
    /// (only where <see cref="FusesNorm"/>), the product is of x's RMSNorm.
    /// </summary>
    public void Matmul(DeviceMatrix w, DeviceMatrix? up, ulong x, int rows, ulong y, int ldy, bool accumulate, in MatmulScratch s,
        RowNorm norm = default)
    {
        bool glu = up is not null, q8 = w.Type == GgmlType.Q8_0, normed = norm.Weight != 0;
        if (normed && !FusesNorm(w, rows)) throw new InvalidOperationException($"a {w.Type} matmul of {rows} rows does not fuse its norm");
        if (q8 && normed)
            Launch(NormQuantizeQ8, (uint)rows, 1, NormThreads, [x, Arg(w.Ld), norm.Weight, Arg(norm.Count), Arg(norm.Eps), s.Xq, s.Xd]);
        else if (q8)
            Launch(QuantizeQ8, (uint)((w.Ld / 32 + 127) / 128), (uint)rows, 128, [x, Arg(w.Ld), s.Xq, s.Xd, Arg(w.Ld)]);
        ulong mode = Arg(accumulate ? 1 : 0);
        if (TensorCores && _matmulTc.ContainsKey(w.Type))
        {
            if (Streams(w, glu, rows, out StreamLaunch st))
            {
                ulong streamGroups = Arg(st.Groups), stages = Arg(st.Stages);
                if (glu) Launch(_streamGlu, st.Blocks, 1, 1, TensorCoreThreads, st.SharedBytes, [x, Arg(w.Ld), Arg(rows), w.Data, up!.Data, y, Arg(ldy), Arg(w.Rows), streamGroups, stages]);
                else Launch(_streamMatmul, st.Blocks, 1, 1, TensorCoreThreads, st.SharedBytes, [x, Arg(w.Ld), Arg(rows), w.Data, y, Arg(ldy), Arg(w.Rows), mode, streamGroups, stages]);
                return;
            }
            int t = rows <= 8 ? 0 : rows <= 16 ? 1 : rows <= 32 ? 2 : 3;
            nint function = (glu ? _gluTc : _matmulTc)[w.Type][t];
            int tiles = glu ? 1 : TensorCoreTiles(rows);
            uint blocks = (uint)((TensorCoreTileCount(w) + tiles - 1) / tiles), kGroups = (uint)TensorCoreGroups(w);
            if (q8)
            {
                if (glu) Launch(function, blocks, kGroups, 1, TensorCoreThreads, [s.Xq, s.Xd, Arg(w.Ld), Arg(rows), w.Data, w.Scales, up!.Data, up.Scales, y, Arg(ldy), Arg(w.Rows), s.Part, s.Count]);
                else Launch(function, blocks, kGroups, 1, TensorCoreThreads, [s.Xq, s.Xd, Arg(w.Ld), Arg(rows), w.Data, w.Scales, y, Arg(ldy), Arg(w.Rows), mode, s.Part, s.Count]);
                return;
            }
            // Up to 16 rows the kernel splits x itself; wider batches have it split (and normed) once beforehand.
            if (normed)
                Launch(NormSplitBf16, (uint)rows, 1, NormThreads, [x, Arg(w.Ld), norm.Weight, Arg(norm.Count), Arg(norm.Eps), s.Xs, Arg(s.XsPlane)]);
            else if (rows > 16)
                Launch(SplitBf16, (uint)((w.Ld + 255) / 256), (uint)rows, 256, [x, Arg(w.Ld), s.Xs, Arg(s.XsPlane), Arg(w.Ld)]);
            if (glu) Launch(function, blocks, kGroups, 1, TensorCoreThreads, [x, s.Xs, Arg(s.XsPlane), Arg(w.Ld), Arg(rows), w.Data, up!.Data, y, Arg(ldy), Arg(w.Rows), s.Part, s.Count]);
            else Launch(function, blocks, kGroups, 1, TensorCoreThreads, [x, s.Xs, Arg(s.XsPlane), Arg(w.Ld), Arg(rows), w.Data, y, Arg(ldy), Arg(w.Rows), mode, s.Part, s.Count]);
            return;
        }
        int g = rows <= 1 ? 0 : rows <= 2 ? 1 : rows <= 4 ? 2 : 3, r = RowGroups[g];
        nint warpKernel = q8 ? (glu ? _gluQ8 : _matmulQ8)[g] : (glu ? _glu : _matmul)[w.Type][g];
        uint groups = (uint)((rows + r - 1) / r), columns = (uint)((w.Rows + 3) / 4);
        if (q8 && glu) Launch(warpKernel, groups, columns, 128, [s.Xq, s.Xd, Arg(w.Ld), Arg(rows), w.Data, w.Scales, up!.Data, up.Scales, y, Arg(ldy), Arg(w.Rows)]);
        else if (q8) Launch(warpKernel, groups, columns, 128, [s.Xq, s.Xd, Arg(w.Ld), Arg(rows), w.Data, w.Scales, y, Arg(ldy), Arg(w.Rows), mode]);
        else if (glu) Launch(warpKernel, groups, columns, 128, [x, Arg(w.Ld), Arg(rows), w.Data, w.Scales, up!.Data, up.Scales, Arg(w.Ld), y, Arg(ldy), Arg(w.Rows)]);
        else Launch(warpKernel, groups, columns, 128, [x, Arg(w.Ld), Arg(rows), w.Data, w.Scales, Arg(w.Ld), y, Arg(ldy), Arg(w.Rows), mode]);
    }

    /// <summary>
    /// Whether a BF16 tensor-core matmul of <paramref name="rows"/> ≤ 8 rows runs as the streaming kernel (specdec.cu's
    /// tc_stream: tc_bf16's bits with NT = 1, each lane's weight pieces streamed through a ring of `stages` slots of
    /// shared memory, a block staying for several tiles and taking every K group of them), and its launch. 16 stages
    /// (halved until the block's shared memory fits the card), up to 4 K groups, as many blocks an SM as shared memory
    /// holds (up to 2), no more than the tiles. H100, 1B BF16 decode, interleaved in one run each (2026-12-06, cuda4
    /// rounds): 549–571 tok/s with 16 stages against 531–538 for the NT = 1 kernel; 8 stages 470–531, 4 stages 489;
    /// asking L2 for the next tile ahead of the ring 484–500. A Q8_0 twin (8- and 4-byte copies through L1) measured
    /// 369–523 against 595 and was dropped. Only matrices of at most <see cref="StreamTilesDefault"/> tiles stream: the
    /// output head (a 1B's 8,016 tiles) keeps the NT = 1 kernel, whose steady stream is the faster one (2.7 against 2.2 TB/s
    /// alone); there the early start the streaming kernel buys is a small part of its time (H200, 1B BF16 decode,
    /// 2026-12-06, cuda5 round 1: 630.8 tok/s against 606.2–609.3 with the head streaming). SPECDEC_CUDA_STREAM=0 keeps
    /// the NT = 1 kernel everywhere; SPECDEC_CUDA_STREAM_STAGES (4, 8, 16), SPECDEC_CUDA_STREAM_BLOCKS (blocks an SM) and
    /// SPECDEC_CUDA_STREAM_TILES (the tile bound) override the rule, for comparison.
    /// </summary>
    internal bool Streams(DeviceMatrix w, bool glu, int rows, out StreamLaunch launch)
    {
        launch = default;
        if (!StreamOn || rows > 8 || !TensorCores || w.Type != GgmlType.BF16 || TensorCoreTileCount(w) > StreamTiles) return false;
        int groups = TensorCoreGroups(w);
        if (groups > 4) return false;
        int stages = StreamStages ?? 16;
        long bytes;
        while ((bytes = StreamSharedBytes(glu, stages, groups)) > _sharedPerBlock && stages > 4) stages /= 2;
        if (bytes > _sharedPerBlock) return false;
        // Blocks an SM: as many as its shared memory holds (each block also reserves 1 KB), up to 2 (the kernel's launch bound).
        int perSm = Math.Clamp(StreamBlocks ?? (int)(_sharedPerMultiprocessor / (bytes + 1024)), 1, 2);
        launch = new StreamLaunch((uint)Math.Min(TensorCoreTileCount(w), perSm * _multiprocessors), stages, groups, (uint)bytes);
        return true;
    }

    /// <summary>
    /// tc_stream's dynamic shared memory: the ring, [stages][8 warps][pieces: 2, with GLU 4][32 lanes] of 16 bytes, then
    /// red, [2][groups][8 warps][GLU's 2][128] floats.
    /// </summary>
    internal static long StreamSharedBytes(bool glu, int stages, int groups) =>
        (long)stages * TensorCoreWarps * (glu ? 4 : 2) * 32 * 16 + 2L * groups * TensorCoreWarps * (glu ? 2 : 1) * 128 * sizeof(float);

    static readonly bool StreamOn = Environment.GetEnvironmentVariable("SPECDEC_CUDA_STREAM") != "0";
    static readonly int? StreamStages = int.TryParse(Environment.GetEnvironmentVariable("SPECDEC_CUDA_STREAM_STAGES"), out int st) && st is 4 or 8 or 16 ? st : null;
    static readonly int StreamTiles = int.TryParse(Environment.GetEnvironmentVariable("SPECDEC_CUDA_STREAM_TILES"), out int tl) ? tl : StreamTilesDefault;

    /// <summary>Tiles of 16 rows up to which a BF16 matrix streams at decode: a 1B's gate/up (512) do, its head (8,016) does not.</summary>
    internal const int StreamTilesDefault = 600;
    static readonly int? StreamBlocks = int.TryParse(Environment.GetEnvironmentVariable("SPECDEC_CUDA_STREAM_BLOCKS"), out int sb) && sb is 1 or 2 ? sb : null;

    /// <summary>Tiles of 16 weight rows of <paramref name="w"/>.</summary>
    static int TensorCoreTileCount(DeviceMatrix w) => (w.Rows + (int)TensorCoreRows - 1) / (int)TensorCoreRows;

    /// <summary>Weight tiles a tensor-core block takes for a batch of <paramref name="rows"/> without GLU (specdec.cu's TC_MT).</summary>
    static int TensorCoreTiles(int rows) => rows > 16 ? 2 : 1;

    /// <summary>
    /// The groups of K ranges of <paramref name="w"/>'s tensor-core matmul (the launch's gridDim.y): for BF16, doubled
    /// while the matrix has fewer than 512 blocks and each warp keeps at least 4 steps of 32 k, so the narrow matrices (a
    /// 1B model's attention output and down projection: 128 tiles) are read by enough blocks to keep the memory busy.
    /// Q8_0 keeps one: with half the bytes a step, the groups' merge cost more than the blocks gained (H100, 1B decode:
    /// 533 tok/s split, 551 not; BF16 492 split, 473 not). A function of the matrix alone, so every batch size sums in
    /// the same order. SPECDEC_CUDA_SPLIT_BLOCKS sets the 512 (0: no split).
    /// </summary>
    internal static int TensorCoreGroups(DeviceMatrix w)
    {
        int tiles = TensorCoreTileCount(w), steps = w.Ld / 32, groups = 1;
        if (w.Type == GgmlType.Q8_0) return 1;
        while (tiles * groups < SplitBlocks && steps / (TensorCoreWarps * groups * 2) >= 4) groups *= 2;
        return groups;
    }

    /// <summary>Floats of <see cref="MatmulScratch.Part"/> a tensor-core matmul of <paramref name="w"/> needs (0 with one group).</summary>
    internal static long SplitScratchFloats(DeviceMatrix w)
    {
        int groups = TensorCoreGroups(w);
        // [tile blocks][groups][MT][GLU's 2][8 tiles of 8 rows · 16 rows], over every batch's MT.
        return groups == 1 ? 0 : (TensorCoreTileCount(w) + 1L) * groups * 2 * ForwardRows * TensorCoreRows;
    }

    const int TensorCoreWarps = (int)TensorCoreThreads / 32;
    static readonly int SplitBlocks = int.TryParse(Environment.GetEnvironmentVariable("SPECDEC_CUDA_SPLIT_BLOCKS"), out int b) ? b : 512;
    static readonly int MaxHeadsPerBlock = int.TryParse(Environment.GetEnvironmentVariable("SPECDEC_CUDA_ATTENTION_HEADS"), out int h) ? Math.Clamp(h, 1, 4) : 4;
    const int ForwardRows = ForwardBatch.MaxRows;

    /// <summary>
    /// Launches <paramref name="function"/> on the default stream. Each argument is one 8-byte slot holding the
    /// value in its low bytes (the driver reads as many bytes as the kernel's parameter has).
    /// </summary>
    public void Launch(nint function, uint gridX, uint gridY, uint block, ReadOnlySpan<ulong> args) => Launch(function, gridX, gridY, 1, block, args);

    public void Launch(nint function, uint gridX, uint gridY, uint gridZ, uint block, ReadOnlySpan<ulong> args) =>
        Launch(function, gridX, gridY, gridZ, block, 0, args);

    /// <summary>A launch with <paramref name="shared"/> bytes of dynamic shared memory a block.</summary>
    public void Launch(nint function, uint gridX, uint gridY, uint gridZ, uint block, uint shared, ReadOnlySpan<ulong> args)
    {
        void** pointers = stackalloc void*[args.Length];
        fixed (ulong* a = args)
        {
            for (int i = 0; i < args.Length; i++) pointers[i] = a + i;
            if (!Dependent)
            {
                _api.Check(_api.cuLaunchKernel(function, gridX, gridY, gridZ, block, 1, 1, shared, _stream, pointers, null), "cuLaunchKernel");
                return;
            }
            var attribute = new LaunchAttribute { Id = LaunchAttribute.ProgrammaticStreamSerialization, Value = 1 };
            var config = new LaunchConfig
            {
                GridX = gridX, GridY = gridY, GridZ = gridZ, BlockX = block, BlockY = 1, BlockZ = 1, SharedBytes = shared,
                Stream = _stream, Attributes = &attribute, AttributeCount = 1,
            };
            _api.Check(_api.cuLaunchKernelEx(&config, function, pointers, null), "cuLaunchKernelEx");
        }
    }

    /// <summary>
    /// Whether kernels launch as programmatic dependents of the one before (sm_90+, and the kernels compiled for the
    /// card by NVRTC, since the shipped compute_80 PTX lacks griddepcontrol): each may start while its predecessor
    /// finishes, waiting inside for its results (specdec.cu's pdl_wait). SPECDEC_CUDA_PDL=0 turns it off.
    /// </summary>
    public bool Dependent { get; }

    /// <summary>The key segments the attention kernel cuts L keys into (specdec.cu's attention_segment).</summary>
    public static int AttentionSplits(int keys)
    {
        int tiles = (keys + 127) / 128, segment = 128 * ((tiles + MaxSplits - 1) / MaxSplits);
        return (keys + segment - 1) / segment;
    }

    /// <summary>
    /// Query heads one attention block takes (specdec.cu's nh): the largest divisor of a KV group's heads, up to 4 (NH),
    /// that still gives the grid (heads / nh · rows · segments blocks) two blocks per multiprocessor, else 1. Sharing
    /// each key's and value's loads between a group's heads pays once the grid is wide (8 rows: c(8) 1.24 → 1.02 on
    /// the 1B), but a decode step's few blocks then run 4 heads each in turn (1B BF16 decode 556 tok/s with one head a
    /// block, 492 with four). Each head's arithmetic does not depend on nh, so a row gets the same bits in any batch.
    /// SPECDEC_CUDA_ATTENTION_HEADS caps nh.
    /// </summary>
    public static int AttentionHeadsPerBlock(int heads, int kvHeads, int rows, int segments, int multiprocessors)
    {
        int group = heads / kvHeads;
        for (int nh = Math.Min(MaxHeadsPerBlock, group); nh > 1; nh--)
            if (group % nh == 0 && (long)heads / nh * rows * segments >= 2L * multiprocessors) return nh;
        return 1;
    }

    /// <summary>
    /// The attention grid's segments for rows of at most <paramref name="keys"/> keys: no fewer than any such row's
    /// <see cref="AttentionSplits"/>, which is not monotonic (2,048 keys take 16 segments of 128, 2,049 take 9 of 256).
    /// </summary>
    public static int AttentionGrid(int keys) => Math.Min(MaxSplits, (keys + 127) / 128);

    public static ulong Arg(int value) => (uint)value;
    public static ulong Arg(long value) => (ulong)value;
    public static ulong Arg(float value) => BitConverter.SingleToUInt32Bits(value);

    /// <summary>
    /// NVRTC's cubin for this card, kept in the user's cache folder under the source's hash, so only the first run
    /// of a build pays the compile (seconds); null without NVRTC. A cache that cannot be written is only slower.
    /// </summary>
    static (byte[] Image, string Version)? CompileCached(CudaDevice device)
    {
        // SPECDEC_CUDA_SOURCE=file compiles an edited specdec.cu instead of the built-in one (a GPU round's variants).
        string? sourceFile = Environment.GetEnvironmentVariable("SPECDEC_CUDA_SOURCE");
        string source = sourceFile is null ? ReadResource(SourceResource) : File.ReadAllText(sourceFile);
        string arch = $"sm_{device.ComputeMajor}{device.ComputeMinor}";
        string folder = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "specdec", "cuda");
        string file = Path.Combine(folder, $"{SourceHash(source)[..16]}-{arch}.cubin");
        try
        {
            if (File.Exists(file)) return (File.ReadAllBytes(file), "cached");
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        var compiled = Nvrtc.Compile(source, "specdec.cu", device.ComputeMajor, device.ComputeMinor);
        if (compiled is { } c)
            try
            {
                Directory.CreateDirectory(folder);
                string temporary = file + $".{Environment.ProcessId}.tmp";
                File.WriteAllBytes(temporary, c.Image);
                File.Move(temporary, file, overwrite: true);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        return compiled;
    }

    nint Function(string name)
    {
        nint function;
        byte[] bytes = Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* n = bytes) _api.Check(_api.cuModuleGetFunction(&function, _module, n), $"cuModuleGetFunction({name})");
        return function;
    }

    internal static string ReadResource(string name)
    {
        using Stream stream = typeof(CudaKernels).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"resource {name} is missing from this build");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>The hash the PTX's first line must carry: SHA-256 of the source, line endings normalised.</summary>
    internal static string SourceHash(string source) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source.Replace("\r\n", "\n"))));
}

/// <summary>
/// An RMSNorm a matmul applies to its input rows (<see cref="CudaKernels.FusesNorm"/>): the norm's weight on the device,
/// the row's element count and epsilon. Default: none.
/// </summary>
internal readonly record struct RowNorm(ulong Weight, int Count, float Eps);

/// <summary>
/// Device scratch a matmul rounds its input into: Q8_0's int8 rows <see cref="Xq"/> and their scales <see cref="Xd"/>,
/// and BF16's three bf16 terms <see cref="Xs"/>, <see cref="XsPlane"/> elements apart;
/// <see cref="Part"/> and <see cref="Count"/> hold the sums of a tensor-core matmul whose K is split over several
/// blocks (<see cref="CudaKernels.SplitScratchFloats"/> floats; one counter per tile, zero between launches).
/// </summary>
internal readonly record struct MatmulScratch(ulong Xq, ulong Xd, ulong Xs, long XsPlane, ulong Part, ulong Count);

/// <summary>A streaming matmul's launch (<see cref="CudaKernels.Streams"/>): blocks, ring stages, K groups, dynamic shared bytes.</summary>
internal readonly record struct StreamLaunch(uint Blocks, int Stages, int Groups, uint SharedBytes);
