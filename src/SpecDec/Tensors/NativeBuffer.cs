using System.Runtime.InteropServices;

namespace SpecDec.Tensors;

/// <summary>
/// A zeroed, 64-byte-aligned block of native memory (off the managed heap, so the GC never scans or moves
/// it and kernels can hold raw pointers into it). Used for activations, scratch and KV caches.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    T* _pointer;

    public NativeBuffer(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        nuint bytes = (nuint)Math.Max(1, length * sizeof(T));
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
        NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}
