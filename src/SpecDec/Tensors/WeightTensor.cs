namespace SpecDec.Tensors;

/// <summary>
/// A tensor that lives in a memory-mapped model file. Dims are in GGUF order: Dims[0] is the contiguous
/// dimension, so a linear layer W[out × in] (PyTorch layout) has Dims = [in, out] and rows of Dims[0]
/// elements. Data stays valid while the model source (the mapped file) that produced it is alive.
/// </summary>
public sealed class WeightTensor
{
    public WeightTensor(string name, GgmlType type, long[] dims, nint data, long byteLength)
    {
        Name = name;
        Type = type;
        Dims = dims;
        Data = data;
        ByteLength = byteLength;
    }

    public string Name { get; }
    public GgmlType Type { get; }
    public long[] Dims { get; }
    public nint Data { get; }
    public long ByteLength { get; }

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Dims) n *= d;
            return n;
        }
    }

    /// <summary>Elements per row (Dims[0]).</summary>
    public int RowLength => (int)Dims[0];

    /// <summary>Number of rows: the product of Dims[1..].</summary>
    public long RowCount => ElementCount / Dims[0];

    public long RowBytes => GgmlTypeInfo.ByteCount(Type, Dims[0]);

    /// <summary>
    /// Rows [first, first + count) as a 2-D tensor over the same bytes: one part of a stacked matrix (Phi-3's
    /// attn_qkv, an expert of ffn_gate_exps), read in place.
    /// </summary>
    public WeightTensor Rows(string name, long first, long count)
    {
        if (first < 0 || count <= 0 || first + count > RowCount)
            throw new ArgumentOutOfRangeException(nameof(count), $"rows {first}..{first + count} of {Name}'s {RowCount}");
        return new WeightTensor(name, Type, [Dims[0], count], Data + (nint)(first * RowBytes), count * RowBytes);
    }

    /// <summary>
    /// Rows <paramref name="rows"/>, in that order, copied into <paramref name="into"/> (which must hold
    /// rows.Count × <see cref="RowBytes"/> bytes) as a 2-D tensor over that memory: a matrix of a few of this one's
    /// rows, gathered once (an EAGLE head's draft-vocabulary output head).
    /// </summary>
    public unsafe WeightTensor Gather(string name, IReadOnlyList<int> rows, NativeBuffer<byte> into)
    {
        long bytes = rows.Count * RowBytes;
        if (rows.Count == 0 || into.Length < bytes) throw new ArgumentException($"{rows.Count} rows of {Name} need {bytes} bytes; the buffer holds {into.Length}", nameof(into));
        for (int i = 0; i < rows.Count; i++)
        {
            if ((uint)rows[i] >= (ulong)RowCount) throw new ArgumentOutOfRangeException(nameof(rows), rows[i], $"row outside {Name}'s {RowCount}");
            RowSpan(rows[i]).CopyTo(new Span<byte>(into.Pointer + i * RowBytes, checked((int)RowBytes)));
        }
        return new WeightTensor(name, Type, [Dims[0], rows.Count], (nint)into.Pointer, bytes);
    }

    public unsafe ReadOnlySpan<byte> RowSpan(long row) =>
        new((byte*)Data + row * RowBytes, checked((int)RowBytes));

    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Dims)}]";
}
