using SpecDec.Model;

namespace SpecDec.Backends.Cuda;

/// <summary>
/// The CUDA backend's <see cref="IKvCache"/>: keys and values of one sequence in device memory, f32 or f16, laid
/// out [layer][kvHead][position][HeadDim] (<see cref="HeadStride"/> elements per head). Like the CPU's cache it
/// starts at 256 positions and doubles up to Capacity as forwards need room; Rollback only moves Length, and
/// KeepRows moves the accepted rows down on the device, in order, as the CPU's does.
/// </summary>
public sealed unsafe class CudaKvCache : IKvCache, IDisposable
{
    const int InitialPositions = 256;
    readonly CudaDevice _device;
    DeviceBuffer _k, _v;
    readonly DeviceBuffer _moves; // [2 × MaxMoves] int: the keep_rows kernel's sources, then destinations
    const int MaxMoves = 64;

    internal CudaKvCache(CudaDevice device, int layers, int kvHeads, int headDim, int capacity, object owner, KvCacheType type)
    {
        if (!Enum.IsDefined(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "unknown KV cache type");
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be ≥ 1");
        _device = device;
        Layers = layers;
        KvHeads = kvHeads;
        HeadDim = headDim;
        Capacity = capacity;
        Limit = capacity;
        Owner = owner;
        Type = type;
        (_k, _v) = Allocate(Math.Min(capacity, InitialPositions));
        _moves = new DeviceBuffer(device, 2L * MaxMoves * sizeof(int));
    }

    /// <summary>Bytes of keys and values of a cache of this shape grown to <paramref name="positions"/> positions.</summary>
    public static long Bytes(int layers, int kvHeads, int headDim, long positions, KvCacheType type) =>
        2L * layers * kvHeads * positions * headDim * type.ElementBytes();

    public int Length { get; private set; }
    public int Capacity { get; }
    public int Limit { get; private set; }
    public int Layers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public KvCacheType Type { get; }

    /// <summary>Positions allocated now.</summary>
    public int Allocated { get; private set; }

    internal object Owner { get; }

    /// <summary>Elements from one head's rows to the next.</summary>
    internal long HeadStride => (long)Allocated * HeadDim;

    /// <summary>Layer <paramref name="layer"/>'s keys (values): [KvHeads × HeadStride] elements.</summary>
    internal ulong Keys(int layer) => _k.Pointer + (ulong)(layer * KvHeads * HeadStride * Type.ElementBytes());
    internal ulong Values(int layer) => _v.Pointer + (ulong)(layer * KvHeads * HeadStride * Type.ElementBytes());

    (DeviceBuffer K, DeviceBuffer V) Allocate(int positions)
    {
        long bytes = Bytes(Layers, KvHeads, HeadDim, positions, Type) / 2;
        var k = new DeviceBuffer(_device, bytes);
        try
        {
            var v = new DeviceBuffer(_device, bytes);
            Allocated = positions;
            return (k, v);
        }
        catch
        {
            k.Dispose();
            throw;
        }
    }

    /// <summary>Makes room for <paramref name="positions"/> (≤ Capacity), doubling; each head's rows move to its new place. Under the device's gate.</summary>
    internal void Reserve(int positions)
    {
        if (positions <= Allocated) return;
        if (positions > Capacity) throw new InvalidOperationException($"the KV cache holds at most {Capacity} positions, not {positions}");
        long oldStride = HeadStride * Type.ElementBytes();
        var (oldK, oldV) = (_k, _v);
        (_k, _v) = Allocate((int)Math.Min(Capacity, Math.Max(positions, 2L * Allocated)));
        long stride = HeadStride * Type.ElementBytes();
        for (long head = 0; head < (long)Layers * KvHeads; head++)
        {
            _device.Api.Check(_device.Api.cuMemcpyDtoDAsync(_k.Pointer + (ulong)(head * stride), oldK.Pointer + (ulong)(head * oldStride), (nuint)oldStride, _device.Stream), "cuMemcpyDtoDAsync");
            _device.Api.Check(_device.Api.cuMemcpyDtoDAsync(_v.Pointer + (ulong)(head * stride), oldV.Pointer + (ulong)(head * oldStride), (nuint)oldStride, _device.Stream), "cuMemcpyDtoDAsync");
        }
        _device.Synchronize();
        oldK.Dispose();
        oldV.Dispose();
    }

    /// <summary>Called by the model after writing rows [Length, Length + rows).</summary>
    internal void Advance(int rows)
    {
        if (Length + rows > Capacity) throw new InvalidOperationException("KV cache overflow");
        Length += rows;
    }

    public void Rollback(int length)
    {
        BatchRules.CheckRollback(length, Length);
        Length = length;
    }

    public void Restart(int limit)
    {
        BatchRules.CheckRestart(limit, Capacity);
        Length = 0;
        Limit = limit;
    }

    public void KeepRows(int start, ReadOnlySpan<int> rows)
    {
        BatchRules.CheckKeepRows(start, rows, Length);
        // rows[j] ≥ start + j: moved in ascending order, no row is overwritten before it moves (the kernel keeps the order).
        Span<int> moves = stackalloc int[2 * MaxMoves];
        int count = 0;
        for (int j = 0; j < rows.Length; j++)
        {
            if (rows[j] == start + j) continue;
            if (count == moves.Length / 2)
            {
                Move(moves, count);
                count = 0;
            }
            moves[count] = rows[j];
            moves[moves.Length / 2 + count] = start + j;
            count++;
        }
        if (count > 0) Move(moves, count);
        Length = start + rows.Length;
    }

    /// <summary>Runs the keep_rows kernel over moves [sources…, destinations…] (the first <paramref name="count"/> of each half).</summary>
    void Move(Span<int> moves, int count)
    {
        int half = moves.Length / 2;
        lock (_device.Gate)
        {
            _device.MakeCurrent();
            // A synchronous copy from pageable memory waits for earlier work, so no move still reads the indices.
            fixed (int* m = moves) _moves.Upload(m, 2L * half * sizeof(int));
            CudaKernels k = _device.Kernels;
            long elements = (long)Layers * KvHeads * HeadDim;
            k.Launch(k.KeepRows[Type == KvCacheType.F16 ? 1 : 0], (uint)((elements + 255) / 256), 1, 256,
            [
                _k.Pointer, _v.Pointer, CudaKernels.Arg(HeadStride), CudaKernels.Arg(Layers * KvHeads), CudaKernels.Arg(HeadDim),
                _moves.Pointer, _moves.Pointer + (ulong)(half * sizeof(int)), CudaKernels.Arg(count),
            ]);
        }
    }

    public void Dispose()
    {
        _k.Dispose();
        _v.Dispose();
        _moves.Dispose();
    }
}
