using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SpecDec.Backends.Cuda.Driver;
using SpecDec.Tensors;

namespace SpecDec.Backends.Cuda;

/// <summary>
/// The kernels of Kernels/specdec.cu loaded into a device's context: compiled for the card by NVRTC when the
/// toolkit's libnvrtc is installed, else from the PTX shipped beside the source, which the driver compiles (and
/// caches) itself, so a machine with only the NVIDIA driver runs them. SPECDEC_CUDA_KERNELS=ptx forces the PTX, and
/// SPECDEC_CUDA_PTX=file takes the PTX from a file instead of the assembly.
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

    /// <summary>Threads of a tensor-core matmul block (specdec.cu's TCW warps) and the weight rows it owns.</summary>
    internal const uint TensorCoreThreads = 256, TensorCoreRows = 16;

    /// <summary>The attention kernel's key segments: at most this many per row (specdec.cu's MAXSPLIT).</summary>
    public const int MaxSplits = 16;

    readonly CudaApi _api;
    readonly nint _stream;
    readonly nint _module;
    readonly Dictionary<GgmlType, nint[]> _matmul = [], _glu = [], _matmulTc = [], _gluTc = [];
    readonly nint[] _matmulQ8, _gluQ8;

    public CudaKernels(CudaDevice device)
    {
        _api = device.Api;
        _stream = device.Stream;
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
        TensorCores = device.ComputeMajor >= 8 && Environment.GetEnvironmentVariable("SPECDEC_CUDA_TENSOR_CORES") != "0";
        SplitBf16 = Function("split_bf16");
        QuantizeQ8 = Function("quantize_q8");
        RmsNorm = Function("rmsnorm");
        SwiGlu = Function("swiglu");
        RopeStore = [Function("rope_store_f32"), Function("rope_store_f16")];
        Attention = [Function("attention_f32"), Function("attention_f16")];
        KeepRows = [Function("keep_rows_f32"), Function("keep_rows_f16")];
    }

    /// <summary>Float weight types of the generic matmul (Q8_0 has its own, over int8 activations).</summary>
    static readonly (GgmlType Type, string Name)[] TypeNames = [(GgmlType.F32, "f32"), (GgmlType.F16, "f16"), (GgmlType.BF16, "bf16")];

    /// <summary>Every kernel the backend looks up in the module.</summary>
    internal static IEnumerable<string> FunctionNames =>
        TypeNames.Select(t => t.Name).Append("q8_0")
            .SelectMany(t => RowGroups.SelectMany(r => t == "q8_0" ? new[] { $"mmq_{t}_r{r}", $"gluq_{t}_r{r}" } : [$"mm_{t}_r{r}", $"glu_{t}_r{r}"]))
            .Concat(TensorCoreTypes.SelectMany(t => Tiles.SelectMany(n => new[] { $"mmt_{t.Name}_n{n}", $"glut_{t.Name}_n{n}" })))
            .Concat(["split_bf16", "quantize_q8", "rmsnorm", "swiglu", "rope_store_f32", "rope_store_f16", "attention_f32", "attention_f16", "keep_rows_f32", "keep_rows_f16"]);

    /// <summary>Where the module came from, for perf's report.</summary>
    public string Source { get; }

    /// <summary>Weight types the matmul kernels read.</summary>
    public static IReadOnlyList<GgmlType> MatrixTypes { get; } = TypeNames.Select(t => t.Type).Append(GgmlType.Q8_0).ToArray();

    /// <summary>Rounds activation rows to Q8_0 blocks (int8 + f32 scale), as the CPU's ActivationQ8.</summary>
    public nint QuantizeQ8 { get; }

    /// <summary>Splits f32 activation rows into three bf16 terms for the BF16 tensor-core matmul.</summary>
    public nint SplitBf16 { get; }

    /// <summary>
    /// Whether BF16 and Q8_0 matrices go through the tensor-core kernels (sm_80 and newer; SPECDEC_CUDA_TENSOR_CORES=0
    /// keeps the warp-per-row kernels, for comparison).
    /// </summary>
    public bool TensorCores { get; }
    public nint RmsNorm { get; }
    public nint SwiGlu { get; }

    /// <summary>[f32 cache, f16 cache].</summary>
    public nint[] RopeStore { get; }
    public nint[] Attention { get; }
    public nint[] KeepRows { get; }

    /// <summary>
    /// y[rows × w.Rows] (+)= x[rows × w.Ld] · Wᵀ, x's rows w.Ld apart and y's <paramref name="ldy"/>; with
    /// <paramref name="up"/> (same shape and type), y = silu(x·Wᵀ) · (x·Upᵀ). Q8_0 first rounds x into the scratch's
    /// int8 rows, the BF16 tensor-core kernel first splits it into bf16 terms there.
    /// </summary>
    public void Matmul(DeviceMatrix w, DeviceMatrix? up, ulong x, int rows, ulong y, int ldy, bool accumulate, in MatmulScratch s)
    {
        bool glu = up is not null, q8 = w.Type == GgmlType.Q8_0;
        if (q8)
            Launch(QuantizeQ8, (uint)((w.Ld / 32 + 127) / 128), (uint)rows, 128, [x, Arg(w.Ld), s.Xq, s.Xd, Arg(w.Ld)]);
        ulong mode = Arg(accumulate ? 1 : 0);
        if (TensorCores && _matmulTc.ContainsKey(w.Type))
        {
            int t = rows <= 8 ? 0 : rows <= 16 ? 1 : rows <= 32 ? 2 : 3;
            nint function = (glu ? _gluTc : _matmulTc)[w.Type][t];
            uint blocks = (uint)((w.Rows + TensorCoreRows - 1) / TensorCoreRows);
            if (q8)
            {
                if (glu) Launch(function, blocks, 1, TensorCoreThreads, [s.Xq, s.Xd, Arg(w.Ld), Arg(rows), w.Data, w.Scales, up!.Data, up.Scales, y, Arg(ldy), Arg(w.Rows)]);
                else Launch(function, blocks, 1, TensorCoreThreads, [s.Xq, s.Xd, Arg(w.Ld), Arg(rows), w.Data, w.Scales, y, Arg(ldy), Arg(w.Rows), mode]);
                return;
            }
            // Up to 16 rows the kernel splits x itself; wider batches have it split once beforehand.
            if (rows > 16)
                Launch(SplitBf16, (uint)((w.Ld + 255) / 256), (uint)rows, 256, [x, Arg(w.Ld), s.Xs, Arg(s.XsPlane), Arg(w.Ld)]);
            if (glu) Launch(function, blocks, 1, TensorCoreThreads, [x, s.Xs, Arg(s.XsPlane), Arg(w.Ld), Arg(rows), w.Data, up!.Data, y, Arg(ldy), Arg(w.Rows)]);
            else Launch(function, blocks, 1, TensorCoreThreads, [x, s.Xs, Arg(s.XsPlane), Arg(w.Ld), Arg(rows), w.Data, y, Arg(ldy), Arg(w.Rows), mode]);
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
    /// Launches <paramref name="function"/> on the default stream. Each argument is one 8-byte slot holding the
    /// value in its low bytes (the driver reads as many bytes as the kernel's parameter has).
    /// </summary>
    public void Launch(nint function, uint gridX, uint gridY, uint block, ReadOnlySpan<ulong> args) => Launch(function, gridX, gridY, 1, block, args);

    public void Launch(nint function, uint gridX, uint gridY, uint gridZ, uint block, ReadOnlySpan<ulong> args)
    {
        void** pointers = stackalloc void*[args.Length];
        fixed (ulong* a = args)
        {
            for (int i = 0; i < args.Length; i++) pointers[i] = a + i;
            _api.Check(_api.cuLaunchKernel(function, gridX, gridY, gridZ, block, 1, 1, 0, _stream, pointers, null), "cuLaunchKernel");
        }
    }

    /// <summary>The key segments the attention kernel cuts L keys into (specdec.cu's attention_segment).</summary>
    public static int AttentionSplits(int keys)
    {
        int tiles = (keys + 127) / 128, segment = 128 * ((tiles + MaxSplits - 1) / MaxSplits);
        return (keys + segment - 1) / segment;
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
        string source = ReadResource(SourceResource);
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
/// Device scratch a matmul rounds its input into: Q8_0's int8 rows <see cref="Xq"/> and their scales <see cref="Xd"/>,
/// and BF16's three bf16 terms <see cref="Xs"/>, <see cref="XsPlane"/> elements apart.
/// </summary>
internal readonly record struct MatmulScratch(ulong Xq, ulong Xd, ulong Xs, long XsPlane);
