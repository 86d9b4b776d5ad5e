using SpecDec.Kernels;

namespace SpecDec.Model;

/// <summary>
/// Keys and values of one sequence in f32, preallocated for Capacity positions, laid out
/// [layer][kvHead][position][headDim]: attention streams one head's keys contiguously, and trimming or
/// compacting moves whole head rows. Row p holds the (rotated) key and the value of the token at cache
/// index p; a forward writes its rows at Length.. and then advances Length.
/// </summary>
public sealed unsafe class KvCache : IKvCache, IDisposable
{
    readonly NativeBuffer<float> _k; // [Layers × KvHeads × Capacity × HeadDim]
    readonly NativeBuffer<float> _v; // same

    public KvCache(int layers, int kvHeads, int headDim, int capacity, object owner)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be ≥ 1");
        Layers = layers;
        KvHeads = kvHeads;
        HeadDim = headDim;
        Capacity = capacity;
        Owner = owner;
        long floats = checked((long)layers * kvHeads * capacity * headDim);
        _k = new NativeBuffer<float>(floats);
        _v = new NativeBuffer<float>(floats);
    }

    public int Length { get; private set; }
    public int Capacity { get; }
    public int Layers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }

    /// <summary>The model that created this cache (a cache fits only the model whose shape made it).</summary>
    internal object Owner { get; }

    /// <summary>Layer <paramref name="layer"/>'s keys: [KvHeads × Capacity × HeadDim].</summary>
    internal float* Keys(int layer) => _k.Pointer + (long)layer * KvHeads * Capacity * HeadDim;

    /// <summary>Layer <paramref name="layer"/>'s values: [KvHeads × Capacity × HeadDim].</summary>
    internal float* Values(int layer) => _v.Pointer + (long)layer * KvHeads * Capacity * HeadDim;

    /// <summary>Called by the model after writing rows [Length, Length + rows).</summary>
    internal void Advance(int rows)
    {
        if (Length + rows > Capacity) throw new InvalidOperationException("KV cache overflow");
        Length += rows;
    }

    public void Rollback(int length)
    {
        if (length < 0 || length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"rollback length must be in 0..{Length}");
        Length = length;
    }

    public void KeepRows(int start, ReadOnlySpan<int> rows)
    {
        if (start < 0 || start > Length) throw new ArgumentOutOfRangeException(nameof(start), start, $"start must be in 0..{Length}");
        for (int j = 0; j < rows.Length; j++)
        {
            if (rows[j] < start || rows[j] >= Length)
                throw new ArgumentOutOfRangeException(nameof(rows), rows[j], $"row {rows[j]} is outside {start}..{Length - 1}");
            if (j > 0 && rows[j] <= rows[j - 1])
                throw new ArgumentException($"rows must be strictly ascending ({rows[j - 1]} then {rows[j]})", nameof(rows));
        }
        // rows[j] ≥ start + j, so moving in ascending order never overwrites a row still to be moved.
        long rowFloats = HeadDim;
        for (int j = 0; j < rows.Length; j++)
        {
            if (rows[j] == start + j) continue;
            for (int l = 0; l < Layers; l++)
                for (int h = 0; h < KvHeads; h++)
                {
                    long head = (long)h * Capacity * HeadDim;
                    float* k = Keys(l) + head, v = Values(l) + head;
                    long bytes = rowFloats * sizeof(float);
                    Buffer.MemoryCopy(k + rows[j] * rowFloats, k + (start + j) * rowFloats, bytes, bytes);
                    Buffer.MemoryCopy(v + rows[j] * rowFloats, v + (start + j) * rowFloats, bytes, bytes);
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
