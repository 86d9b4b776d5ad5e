namespace SpecDec.Speculation;

/// <summary>
/// Lookahead decoding's n-gram pool: n-grams keyed by their first token, each stored as the
/// <see cref="Length"/> tokens after it, at most <see cref="PerKey"/> per key in a ring (the oldest is
/// overwritten), newest first when read; an n-gram already held under its key is not added twice (llama.cpp's
/// filter). Storage grows by doubling as new keys appear, so a round allocates nothing once the pool has
/// seen the keys of a sequence.
/// </summary>
internal sealed class NgramPool
{
    private int[] _slotOf = [];  // [V] key → slot, or −1
    private int[] _keys = [];    // [slots] key of each slot (to clear _slotOf)
    private int[] _grams = [];   // [slots × PerKey × Length] ring of each slot
    private int[] _counts = [];  // [slots] n-grams held
    private int[] _heads = [];   // [slots] ring index of the oldest
    private int _slots;

    public int Length { get; private set; }
    public int PerKey { get; private set; }

    /// <summary>Empties the pool for n-grams of <paramref name="length"/> tokens after the key, <paramref name="perKey"/> per key.</summary>
    public void Reset(int vocabSize, int length, int perKey)
    {
        if (_slotOf.Length != vocabSize)
        {
            _slotOf = new int[vocabSize];
            Array.Fill(_slotOf, -1);
        }
        else
            for (int s = 0; s < _slots; s++) _slotOf[_keys[s]] = -1;
        if ((Length, PerKey) != (length, perKey)) _grams = new int[Math.Max(_keys.Length, 64) * perKey * length];
        Length = length;
        PerKey = perKey;
        _slots = 0;
    }

    /// <summary>N-grams held under <paramref name="key"/>.</summary>
    public int Count(int key) => (uint)key < (uint)_slotOf.Length && _slotOf[key] >= 0 ? _counts[_slotOf[key]] : 0;

    /// <summary>The <paramref name="i"/>-th newest n-gram under <paramref name="key"/> (i &lt; Count(key)): its tokens after the key.</summary>
    public ReadOnlySpan<int> Get(int key, int i)
    {
        int slot = _slotOf[key];
        int index = (_heads[slot] + _counts[slot] - 1 - i) % PerKey;
        return _grams.AsSpan((slot * PerKey + index) * Length, Length);
    }

    /// <summary>Adds the n-gram <paramref name="key"/> followed by <paramref name="gram"/> [Length].</summary>
    public void Add(int key, ReadOnlySpan<int> gram)
    {
        if ((uint)key >= (uint)_slotOf.Length) return; // a token the pool cannot key (never verified either)
        int slot = _slotOf[key];
        if (slot < 0) slot = NewSlot(key);
        int count = _counts[slot];
        for (int i = 0; i < count; i++)
            if (gram.SequenceEqual(_grams.AsSpan((slot * PerKey + i) * Length, Length))) return;
        int index;
        if (count < PerKey) index = (_heads[slot] + _counts[slot]++) % PerKey;
        else
        {
            index = _heads[slot];
            _heads[slot] = (index + 1) % PerKey;
        }
        gram.CopyTo(_grams.AsSpan((slot * PerKey + index) * Length, Length));
    }

    private int NewSlot(int key)
    {
        if (_slots == _keys.Length)
        {
            int grown = Math.Max(64, 2 * _keys.Length);
            Array.Resize(ref _keys, grown);
            Array.Resize(ref _counts, grown);
            Array.Resize(ref _heads, grown);
        }
        if ((long)(_slots + 1) * PerKey * Length > _grams.Length) Array.Resize(ref _grams, _keys.Length * PerKey * Length);
        int slot = _slots++;
        _keys[slot] = key;
        _counts[slot] = 0;
        _heads[slot] = 0;
        _slotOf[key] = slot;
        return slot;
    }
}
