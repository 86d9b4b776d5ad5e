using SpecDec.Tensors;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// A linear layer's weight W[Rows × Columns] as it lies in the mapped file: Rows rows of Columns elements,
/// each row RowBytes long (Q8_0: Columns/32 blocks of 34 bytes). y = W·x maps Columns inputs to Rows outputs.
/// Q8_0, Q4_K and Q6_K weights may also carry a copy in a packed layout (<see cref="PackedWeights"/>), which the matmul then reads.
/// </summary>
public readonly unsafe struct LinearWeight
{
    public LinearWeight(GgmlType type, byte* data, int rows, int columns)
    {
        if (!RunnableTypes.Contains(type)) throw new NotSupportedException($"no matmul kernel for {type} weights yet");
        if (columns % GgmlTypeInfo.BlockSize(type) != 0)
            throw new ArgumentException($"{columns} columns are not a whole number of {type} blocks");
        Type = type;
        Data = data;
        Rows = rows;
        Columns = columns;
        RowBytes = GgmlTypeInfo.ByteCount(type, columns);
    }

    public GgmlType Type { get; }
    public byte* Data { get; }
    public int Rows { get; }
    public int Columns { get; }
    public long RowBytes { get; }

    /// <summary>F16 only: no weight is Inf or NaN (<see cref="HalfBits.AllFinite(ushort*, long)"/>), so the matmul may read the raw bits.</summary>
    public bool FiniteHalves { get; init; }

    /// <summary>This F16 weight with <see cref="FiniteHalves"/> found by reading every value; other types as they are.</summary>
    public LinearWeight WithFiniteHalvesChecked() =>
        Type == GgmlType.F16 ? this with { FiniteHalves = HalfBits.AllFinite((ushort*)Data, (long)Rows * Columns) } : this;

    /// <summary>The weight in its type's packed layout (<see cref="PackedWeights"/>), or null.</summary>
    public byte* Packed { get; init; }

    public byte* Row(int n) => Data + n * RowBytes;
}
