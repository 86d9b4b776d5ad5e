using System.Runtime.InteropServices;
using System.Text;

namespace SpecDec.Backends.Cuda.Driver;

/// <summary>
/// NVRTC, the CUDA toolkit's run-time compiler, when it is installed: it compiles the kernels' source for the
/// exact card (a cubin, no driver JIT). Optional: without it the backend loads the shipped PTX, which the
/// driver compiles itself; what is lost is only the ability to run source edited after the PTX was made.
/// </summary>
internal static unsafe class Nvrtc
{
    /// <summary>Sonames of the NVRTC releases this code knows, newest first; the unversioned name last.</summary>
    static readonly string[] LibraryNames = OperatingSystem.IsWindows()
        ? ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll"]
        : ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"];

    /// <summary>
    /// The cubin of <paramref name="source"/> for compute capability <paramref name="major"/>.<paramref name="minor"/>,
    /// with the NVRTC version that made it; null when no NVRTC library can be loaded. A compile error throws with
    /// NVRTC's log: the shipped source must compile.
    /// </summary>
    public static (byte[] Image, string Version)? Compile(string source, string name, int major, int minor)
    {
        nint library = 0;
        if (!LibraryNames.Any(n => NativeLibrary.TryLoad(n, out library))) return null;
        var version = (delegate* unmanaged<int*, int*, int>)Export(library, "nvrtcVersion");
        var create = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)Export(library, "nvrtcCreateProgram");
        var compile = (delegate* unmanaged<nint, int, byte**, int>)Export(library, "nvrtcCompileProgram");
        var logSize = (delegate* unmanaged<nint, nuint*, int>)Export(library, "nvrtcGetProgramLogSize");
        var log = (delegate* unmanaged<nint, byte*, int>)Export(library, "nvrtcGetProgramLog");
        var cubinSize = (delegate* unmanaged<nint, nuint*, int>)Export(library, "nvrtcGetCUBINSize");
        var cubin = (delegate* unmanaged<nint, byte*, int>)Export(library, "nvrtcGetCUBIN");
        var destroy = (delegate* unmanaged<nint*, int>)Export(library, "nvrtcDestroyProgram");
        if (version == null || create == null || compile == null || cubin == null) return null;

        int vMajor, vMinor;
        version(&vMajor, &vMinor);
        nint program;
        byte[] src = Encoding.UTF8.GetBytes(source + "\0"), file = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* s = src, f = file)
            if (create(&program, s, f, 0, null, null) != 0) throw new SpecDecException("NVRTC could not create a program");
        try
        {
            string[] options = [$"--gpu-architecture=sm_{major}{minor}", "--std=c++17"];
            byte[][] bytes = options.Select(o => Encoding.UTF8.GetBytes(o + "\0")).ToArray();
            var handles = bytes.Select(b => GCHandle.Alloc(b, GCHandleType.Pinned)).ToArray();
            int status;
            try
            {
                byte** argv = stackalloc byte*[bytes.Length];
                for (int i = 0; i < bytes.Length; i++) argv[i] = (byte*)handles[i].AddrOfPinnedObject();
                status = compile(program, bytes.Length, argv);
            }
            finally
            {
                foreach (var h in handles) h.Free();
            }
            if (status != 0)
            {
                nuint size;
                logSize(program, &size);
                var text = new byte[(int)size];
                fixed (byte* t = text) log(program, t);
                throw new SpecDecException($"NVRTC {vMajor}.{vMinor} failed to compile {name} for sm_{major}{minor}: {Encoding.UTF8.GetString(text).TrimEnd('\0')}");
            }
            nuint length;
            cubinSize(program, &length);
            var image = new byte[(int)length];
            fixed (byte* i = image) cubin(program, i);
            return (image, $"{vMajor}.{vMinor}");
        }
        finally
        {
            destroy(&program);
        }
    }

    static nint Export(nint library, string name) => NativeLibrary.TryGetExport(library, name, out nint address) ? address : 0;
}
