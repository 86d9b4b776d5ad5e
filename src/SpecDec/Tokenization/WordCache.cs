using System.Collections.Concurrent;

namespace SpecDec.Tokenization;

/// <summary>
/// Pre-token → ids, so a word seen before is not merged again. Bounded: once full it starts over (a long-running
/// server sees an unbounded set of words). Thread-safe; lookups by span allocate nothing.
/// </summary>
internal sealed class WordCache
{
    public const int MaxWordLength = 64;
    private const int Capacity = 16_384;

    private readonly ConcurrentDictionary<string, int[]> _ids = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public WordCache() => _bySpan = _ids.GetAlternateLookup<ReadOnlySpan<char>>();

    public bool TryGet(ReadOnlySpan<char> word, out int[] ids) => _bySpan.TryGetValue(word, out ids!);

    private int _count; // ConcurrentDictionary.Count takes every lock; this is an estimate that is good enough

    public void Add(ReadOnlySpan<char> word, ReadOnlySpan<int> ids)
    {
        if (word.Length > MaxWordLength) return;
        if (Interlocked.Increment(ref _count) > Capacity)
        {
            _ids.Clear();
            Interlocked.Exchange(ref _count, 1);
        }
        _bySpan.TryAdd(word, ids.ToArray());
    }
}
