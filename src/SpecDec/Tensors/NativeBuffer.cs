using System.Runtime.InteropServices;

namespace SpecDec.Tensors;

/// <summary>
/// A zeroed, 64-byte-aligned block of native memory (off the managed heap, so the GC never scans or moves
/// it and kernels can hold raw pointers into it). Used for activations, scratch, KV caches and packed weights.
/// From 2 MiB up on Linux it is a 2 MiB-aligned mapping advised onto huge pages (<see cref="HugePages"/>).
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    T* _pointer;
    readonly nuint _mapped; // the mapping's length when HugePages made it, else 0

    public NativeBuffer(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        nuint bytes = (nuint)Math.Max(1, length * sizeof(T));
        if (HugePages.Applies(bytes))
        {
            _pointer = (T*)HugePages.Map(bytes, out _mapped);
            return;
        }
        _pointer = (T*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_pointer, bytes);
    }

    public long Length { get; }

    public T* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return _pointer;
        }
    }

    public Span<T> Span => new(Pointer, checked((int)Length));

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer() => Free();

    void Free()
    {
        if (_pointer == null) return;
        if (_mapped != 0) HugePages.Unmap(_pointer, _mapped);
        else NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}
