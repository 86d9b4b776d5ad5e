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

    readonly CudaApi _api;
    readonly nint _module;
    readonly Dictionary<GgmlType, nint[]> _matmul = [], _glu = [];
    readonly nint[] _matmulQ8, _gluQ8;

    public CudaKernels(CudaDevice device)
    {
        _api = device.Api;
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
            .Concat(["quantize_q8", "rmsnorm", "swiglu", "rope_store_f32", "rope_store_f16", "attention_f32", "attention_f16", "keep_rows_f32", "keep_rows_f16"]);

    /// <summary>Where the module came from, for perf's report.</summary>
    public string Source { get; }

    /// <summary>Weight types the matmul kernels read.</summary>
    public static IReadOnlyList<GgmlType> MatrixTypes { get; } = TypeNames.Select(t => t.Type).Append(GgmlType.Q8_0).ToArray();

    /// <summary>Rounds activation rows to Q8_0 blocks (int8 + f32 scale), as the CPU's ActivationQ8.</summary>
    public nint QuantizeQ8 { get; }
    public nint RmsNorm { get; }
    public nint SwiGlu { get; }

    /// <summary>[f32 cache, f16 cache].</summary>
    public nint[] RopeStore { get; }
    public nint[] Attention { get; }
    public nint[] KeepRows { get; }

    /// <summary>The matmul for <paramref name="rows"/> activation rows: its kernel and rows per block.</summary>
    public (nint Function, int Rows) Matmul(GgmlType type, int rows, bool glu)
    {
        int g = rows <= 1 ? 0 : rows <= 2 ? 1 : rows <= 4 ? 2 : 3;
        nint function = type == GgmlType.Q8_0 ? (glu ? _gluQ8 : _matmulQ8)[g] : (glu ? _glu : _matmul)[type][g];
        return (function, RowGroups[g]);
    }

    /// <summary>
    /// Launches <paramref name="function"/> on the default stream. Each argument is one 8-byte slot holding the
    /// value in its low bytes (the driver reads as many bytes as the kernel's parameter has).
    /// </summary>
    public void Launch(nint function, uint gridX, uint gridY, uint block, ReadOnlySpan<ulong> args)
    {
        void** pointers = stackalloc void*[args.Length];
        fixed (ulong* a = args)
        {
            for (int i = 0; i < args.Length; i++) pointers[i] = a + i;
            _api.Check(_api.cuLaunchKernel(function, gridX, gridY, 1, block, 1, 1, 0, 0, pointers, null), "cuLaunchKernel");
        }
    }

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
