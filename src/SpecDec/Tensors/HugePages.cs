using System.Runtime.InteropServices;

namespace SpecDec.Tensors;

/// <summary>
/// Anonymous memory on 2 MiB pages for the engine's large buffers on Linux (packed weights, KV caches, workspaces).
/// With transparent huge pages in <c>madvise</c> mode (common) anonymous memory gets 4 KiB pages unless asked, and a
/// matmul streaming a gigabyte of packed weights then walks a TLB entry per 4 KiB. The mapping starts on a 2 MiB
/// boundary and is marked MADV_HUGEPAGE before its first touch, so the kernel faults it in as huge pages where it can;
/// its tail past the last whole 2 MiB stays on small pages (nothing is rounded up, so no memory is wasted).
/// </summary>
internal static unsafe partial class HugePages
{
    public const nuint Size = 2 << 20;

    /// <summary>Whether a buffer of <paramref name="bytes"/> is mapped here instead of the C heap.</summary>
    public static bool Applies(nuint bytes) => OperatingSystem.IsLinux() && bytes >= Size;

    /// <summary>
    /// A zeroed, 2 MiB-aligned mapping of at least <paramref name="bytes"/>; <paramref name="mapped"/> is its length
    /// for <see cref="Unmap"/>.
    /// </summary>
    public static void* Map(nuint bytes, out nuint mapped)
    {
        nuint page = (nuint)Environment.SystemPageSize;
        mapped = (bytes + page - 1) & ~(page - 1);
        // Over-map by 2 MiB, then give back the unaligned head and the tail beyond the buffer.
        nuint reserve = mapped + Size;
        void* raw = mmap(null, reserve, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (raw == MapFailed) throw new OutOfMemoryException($"mmap of {reserve} bytes failed (errno {Marshal.GetLastPInvokeError()})");
        nuint start = ((nuint)raw + Size - 1) & ~(Size - 1), head = start - (nuint)raw, tail = reserve - head - mapped;
        if (head > 0) _ = munmap(raw, head);
        if (tail > 0) _ = munmap((void*)(start + mapped), tail);
        // Only advice: a kernel without THP (or with it off) answers EINVAL and the buffer simply stays on 4 KiB pages.
        _ = madvise((void*)start, mapped, MadviseHugePage);
        return (void*)start; // anonymous memory is zero-filled
    }

    public static void Unmap(void* pointer, nuint mapped) => _ = munmap(pointer, mapped);

    const int ProtRead = 1, ProtWrite = 2, MapPrivate = 0x02, MapAnonymous = 0x20, MadviseHugePage = 14;
    static readonly void* MapFailed = (void*)-1;

    [LibraryImport("libc", SetLastError = true)]
    private static partial void* mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(void* address, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(void* address, nuint length, int advice);
}
