using System.IO.MemoryMappedFiles;

namespace SpecDec.Formats;

/// <summary>
/// A whole file mapped read-only into memory. The view stays mapped until Dispose, so tensors can point
/// straight into it (weights are never copied; RSS grows only with the pages actually touched).
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;

    private MappedFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        _pointer = pointer;
    }

    public string Path { get; }

    /// <summary>File size in bytes (the mapped view may be rounded up to a page; only this much is valid).</summary>
    public long Length { get; }

    public byte* Pointer => _pointer != null || Length == 0 ? _pointer : throw new ObjectDisposedException(Path);

    /// <summary>
    /// Drops the resident pages wholly inside [p, p + bytes) from this process's memory (Linux madvise
    /// MADV_DONTNEED; elsewhere nothing). The mapping is read-only and file-backed, so a later read simply
    /// faults the pages back in from the file: contents never change, only RSS.
    /// </summary>
    public void Evict(byte* p, long bytes)
    {
        if (!OperatingSystem.IsLinux() || p < Pointer || p + bytes > Pointer + Length) return;
        long page = Environment.SystemPageSize;
        long start = ((long)p + page - 1) / page * page, end = ((long)p + bytes) / page * page;
        if (end > start) _ = madvise((void*)start, (nuint)(end - start), MadviseDontNeed);
    }

    private const int MadviseDontNeed = 4;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int madvise(void* address, nuint length, int advice);

    /// <summary>The first min(Length, int.MaxValue) bytes: enough for any header we parse.</summary>
    public ReadOnlySpan<byte> Head => new(Pointer, (int)Math.Min(Length, int.MaxValue));

    public static MappedFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such file", path);
        // A symbolic link's own FileInfo has the link's length (Hugging Face's cache links every snapshot file to a blob).
        if (info.LinkTarget is not null) info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
        long length = info.Length;
        // An empty file cannot be mapped; callers see a zero-length span and report it as truncated.
        if (length == 0) return new MappedFile(path, 0, null, null, null);

        MemoryMappedFile map = MemoryMappedFile.CreateFromFile(
            path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new MappedFile(path, length, map, view, pointer + view.PointerOffset);
        }
        catch
        {
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_view != null && _pointer != null)
        {
            _pointer = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        _view?.Dispose();
        _map?.Dispose();
    }
}
