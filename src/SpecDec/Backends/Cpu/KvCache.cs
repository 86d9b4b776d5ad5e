using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Backends.Cpu;

/// <summary>
/// The CPU backend's <see cref="IKvCache"/>: keys and values of one sequence in f32 or f16 (<see cref="Type"/>), for
/// up to Capacity positions but allocated for <see cref="Allocated"/> of them, growing (doubling, up to Capacity)
/// as forwards need room: a request for a million tokens costs memory only for the tokens it reaches. Laid out
/// [layer][kvHead][…] with <see cref="HeadStride"/> elements per head: values one row of HeadDim per
/// position, keys in the transposed blocks attention scores from (<see cref="Attention.KeyIndex"/>). Position p
/// holds the (rotated) key and the value of the token at cache index p; a forward writes its rows at Length..
/// and then advances Length.
/// </summary>
public sealed unsafe class KvCache : IKvCache, IDisposable
{
    /// <summary>Positions allocated at first (or Capacity, if fewer): a short request never grows.</summary>
    public const int InitialPositions = 256;

    NativeBuffer<byte> _k; // [Layers × KvHeads × HeadStride] elements of ElementBytes
    NativeBuffer<byte> _v; // same

    public KvCache(int layers, int kvHeads, int headDim, int capacity, object owner, KvCacheType type = KvCacheType.F32)
    {
        if (!Enum.IsDefined(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "unknown KV cache type");
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be ≥ 1");
        Layers = layers;
        KvHeads = kvHeads;
        HeadDim = headDim;
        Capacity = capacity;
        Limit = capacity;
        Owner = owner;
        Type = type;
        ElementBytes = type.ElementBytes();
        (_k, _v) = Allocate(Math.Min(capacity, InitialPositions));
    }

    /// <summary>Bytes of keys and values of a cache of this shape grown to <paramref name="positions"/> positions (whole tiles).</summary>
    public static long Bytes(int layers, int kvHeads, int headDim, long positions, KvCacheType type) =>
        2L * layers * kvHeads * Attention.HeadFloats(positions, headDim) * type.ElementBytes();

    /// <summary>Buffers for <paramref name="positions"/> positions; sets Allocated and HeadStride to match.</summary>
    (NativeBuffer<byte> K, NativeBuffer<byte> V) Allocate(int positions)
    {
        Allocated = positions;
        HeadStride = Attention.HeadFloats(positions, HeadDim);
        long bytes = Bytes(Layers, KvHeads, HeadDim, positions, Type) / 2; // keys, and as many for values
        return (new NativeBuffer<byte>(bytes), new NativeBuffer<byte>(bytes));
    }

    /// <summary>
    /// Makes room for <paramref name="positions"/> positions (at most Capacity), doubling the allocation. A head's
    /// keys and values grow at their end (both layouts are position-major in whole tiles), so each head's old
    /// region is copied to the start of its new one.
    /// </summary>
    internal void Reserve(int positions)
    {
        if (positions <= Allocated) return;
        if (positions > Capacity) throw new InvalidOperationException($"the KV cache holds at most {Capacity} positions, not {positions}");
        long oldStride = HeadStride;
        var (oldK, oldV) = (_k, _v);
        (_k, _v) = Allocate((int)Math.Min(Capacity, Math.Max(positions, 2L * Allocated)));
        long bytes = oldStride * ElementBytes;
        for (long head = 0; head < (long)Layers * KvHeads; head++)
        {
            Buffer.MemoryCopy(oldK.Pointer + head * bytes, _k.Pointer + head * HeadStride * ElementBytes, bytes, bytes);
            Buffer.MemoryCopy(oldV.Pointer + head * bytes, _v.Pointer + head * HeadStride * ElementBytes, bytes, bytes);
        }
        oldK.Dispose();
        oldV.Dispose();
    }

    /// <summary>Positions the buffers hold now (≤ Capacity).</summary>
    public int Allocated { get; private set; }

    /// <summary>Bytes of keys and values allocated now.</summary>
    public long AllocatedBytes => 2 * _k.Length;

    public KvCacheType Type { get; }

    /// <summary>Bytes of one stored key or value element: 4 (F32) or 2 (F16).</summary>
    internal int ElementBytes { get; }

    public int Length { get; private set; }
    public int Capacity { get; }
    public int Limit { get; private set; }
    public int Layers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }

    /// <summary>Elements from one head's keys (values) to the next (changes when the cache grows).</summary>
    internal long HeadStride { get; private set; }

    /// <summary>The model that created this cache (a cache fits only the model whose shape made it).</summary>
    internal object Owner { get; }

    /// <summary>Layer <paramref name="layer"/>'s keys: [KvHeads × HeadStride] elements, blocked per <see cref="Attention.KeyIndex"/>.</summary>
    internal byte* Keys(int layer) => _k.Pointer + (long)layer * KvHeads * HeadStride * ElementBytes;

    /// <summary>Layer <paramref name="layer"/>'s values: [KvHeads × HeadStride] elements, HeadDim per position.</summary>
    internal byte* Values(int layer) => _v.Pointer + (long)layer * KvHeads * HeadStride * ElementBytes;

    /// <summary>Stores head <paramref name="head"/>'s key and value (HeadDim floats each) at <paramref name="position"/>.</summary>
    internal void Write(int layer, int head, int position, float* key, float* value)
    {
        byte* keys = Keys(layer) + head * HeadStride * ElementBytes;
        byte* values = Values(layer) + (head * HeadStride + (long)position * HeadDim) * ElementBytes;
        if (Type == KvCacheType.F16)
        {
            for (int c = 0; c < HeadDim; c++)
            {
                ((ushort*)keys)[Attention.KeyIndex(position, c, HeadDim)] = ToHalf(key[c]);
                ((ushort*)values)[c] = ToHalf(value[c]);
            }
            return;
        }
        for (int c = 0; c < HeadDim; c++) ((float*)keys)[Attention.KeyIndex(position, c, HeadDim)] = key[c];
        long bytes = HeadDim * sizeof(float);
        Buffer.MemoryCopy(value, values, bytes, bytes);
    }

    /// <summary>Round to nearest half, saturating at ±65504: an outlier becomes the largest half, not infinity.</summary>
    internal static ushort ToHalf(float x) => BitConverter.HalfToUInt16Bits((Half)Math.Clamp(x, -65504f, 65504f));

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
        // rows[j] ≥ start + j, so moving in ascending order never overwrites a row still to be moved.
        for (int j = 0; j < rows.Length; j++)
        {
            if (rows[j] == start + j) continue;
            for (int l = 0; l < Layers; l++)
                for (int h = 0; h < KvHeads; h++)
                {
                    long head = h * HeadStride * ElementBytes;
                    byte* k = Keys(l) + head, v = Values(l) + head;
                    for (int c = 0; c < HeadDim; c++)
                        Buffer.MemoryCopy(k + Attention.KeyIndex(rows[j], c, HeadDim) * ElementBytes,
                            k + Attention.KeyIndex(start + j, c, HeadDim) * ElementBytes, ElementBytes, ElementBytes);
                    long bytes = (long)HeadDim * ElementBytes;
                    Buffer.MemoryCopy(v + (long)rows[j] * bytes, v + (long)(start + j) * bytes, bytes, bytes);
                }
        }
        Length = start + rows.Length;
    }

    public void Dispose()
    {
        _k.Dispose();
        _v.Dispose();
    }
}
