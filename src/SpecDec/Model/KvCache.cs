using SpecDec.Kernels;

namespace SpecDec.Model;

/// <summary>
/// Keys and values of one sequence in f32, preallocated for Capacity positions, laid out [layer][kvHead][…]
/// with <see cref="HeadStride"/> floats per head: values one row of HeadDim per position, keys in the
/// transposed blocks attention scores from (<see cref="Attention.KeyIndex"/>). Position p holds the (rotated)
/// key and the value of the token at cache index p; a forward writes its rows at Length.. and then advances Length.
/// </summary>
public sealed unsafe class KvCache : IKvCache, IDisposable
{
    readonly NativeBuffer<float> _k; // [Layers × KvHeads × HeadStride]
    readonly NativeBuffer<float> _v; // same

    public KvCache(int layers, int kvHeads, int headDim, int capacity, object owner)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be ≥ 1");
        Layers = layers;
        KvHeads = kvHeads;
        HeadDim = headDim;
        Capacity = capacity;
        Owner = owner;
        HeadStride = Attention.HeadFloats(capacity, headDim);
        long floats = checked(layers * kvHeads * HeadStride);
        _k = new NativeBuffer<float>(floats);
        _v = new NativeBuffer<float>(floats);
    }

    public int Length { get; private set; }
    public int Capacity { get; }
    public int Layers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }

    /// <summary>Floats from one head's keys (values) to the next.</summary>
    internal long HeadStride { get; }

    /// <summary>The model that created this cache (a cache fits only the model whose shape made it).</summary>
    internal object Owner { get; }

    /// <summary>Layer <paramref name="layer"/>'s keys: [KvHeads × HeadStride], blocked per <see cref="Attention.KeyIndex"/>.</summary>
    internal float* Keys(int layer) => _k.Pointer + layer * KvHeads * HeadStride;

    /// <summary>Layer <paramref name="layer"/>'s values: [KvHeads × HeadStride], HeadDim floats per position.</summary>
    internal float* Values(int layer) => _v.Pointer + layer * KvHeads * HeadStride;

    /// <summary>Stores head <paramref name="head"/>'s key and value (HeadDim floats each) at <paramref name="position"/>.</summary>
    internal void Write(int layer, int head, int position, float* key, float* value)
    {
        float* keys = Keys(layer) + head * HeadStride;
        for (int c = 0; c < HeadDim; c++) keys[Attention.KeyIndex(position, c, HeadDim)] = key[c];
        long bytes = HeadDim * sizeof(float);
        Buffer.MemoryCopy(value, Values(layer) + head * HeadStride + (long)position * HeadDim, bytes, bytes);
    }

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
        for (int j = 0; j < rows.Length; j++)
        {
            if (rows[j] == start + j) continue;
            for (int l = 0; l < Layers; l++)
                for (int h = 0; h < KvHeads; h++)
                {
                    float* k = Keys(l) + h * HeadStride, v = Values(l) + h * HeadStride;
                    for (int c = 0; c < HeadDim; c++)
                        k[Attention.KeyIndex(start + j, c, HeadDim)] = k[Attention.KeyIndex(rows[j], c, HeadDim)];
                    long bytes = HeadDim * sizeof(float);
                    Buffer.MemoryCopy(v + (long)rows[j] * HeadDim, v + (long)(start + j) * HeadDim, bytes, bytes);
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
