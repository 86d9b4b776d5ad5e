using SpecDec.Model;

namespace SpecDec.Tests.Generation;

/// <summary>The <see cref="NGramTestModel"/>'s cache: it keeps the token ids its rows were computed from.</summary>
internal sealed class NGramTestCache(int capacity) : IKvCache
{
    private readonly int[] _tokens = new int[capacity];

    public int Length { get; private set; }
    public int Capacity { get; } = capacity;
    public int Limit { get; private set; } = capacity;
    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Length);

    public void Append(ReadOnlySpan<int> tokens)
    {
        tokens.CopyTo(_tokens.AsSpan(Length));
        Length += tokens.Length;
    }

    public void Rollback(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length), $"{length} outside [0, {Length}]");
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
        int previous = start - 1;
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i] <= previous || rows[i] >= Length) throw new ArgumentException("rows must ascend within the cache");
            previous = rows[i];
            _tokens[start + i] = _tokens[rows[i]];
        }
        Length = start + rows.Length;
    }
}
