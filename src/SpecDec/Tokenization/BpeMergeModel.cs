using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace SpecDec.Tokenization;

/// <summary>
/// BPE by merge rank, as Hugging Face's BPE model: a word starts as one symbol per byte (byte-level) or per
/// code point (SentencePiece-style, with "&lt;0xNN&gt;" byte fallback and unk), then the adjacent pair with the
/// lowest-ranked merge is merged, leftmost first on ties, until none applies. A heap keeps this O(n log n);
/// seen words come from a bounded cache.
/// </summary>
[SkipLocalsInit] // the stack buffers are written before they are read
internal sealed class BpeMergeModel : IWordEncoder
{
    private const int StackWordLength = 128;

    private readonly TokenVocabulary _vocab;
    private readonly Dictionary<long, int> _ranks;   // (left id, right id) → merge rank
    private readonly int[] _mergedIds;               // [merges] rank → id of the merged token
    private readonly bool _byteLevel;
    private readonly int[] _byteSymbolIds;           // [256] byte-level: id of the token for each byte's char
    private readonly int[]? _fallbackIds;            // [256] "<0xNN>" ids when byte fallback is on
    private readonly int _unkId;                     // -1: unknown chars are dropped, as Hugging Face does
    private readonly bool _fuseUnk;
    private readonly bool _ignoreMerges;
    private readonly bool _wholeNewlineRuns;
    private readonly WordCache _cache = new();

    /// <param name="byteLevel">Words are text whose UTF-8 bytes map to GPT-2's byte alphabet.</param>
    /// <param name="source">Names the file in errors about merges.</param>
    /// <param name="wholeNewlineRuns">A word of only '\n' that is a token is that token (llama.cpp's Gemma 4 rule).</param>
    public BpeMergeModel(TokenVocabulary vocab, IReadOnlyList<(string Left, string Right)> merges, bool byteLevel,
        bool byteFallback, int unkId, bool fuseUnk, bool ignoreMerges, string source, string mergesField,
        bool wholeNewlineRuns = false)
    {
        _wholeNewlineRuns = wholeNewlineRuns;
        _vocab = vocab;
        _byteLevel = byteLevel;
        _unkId = unkId;
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
        _fallbackIds = byteFallback ? vocab.ByteTokenIds() : null;
        _byteSymbolIds = new int[256];
        for (int b = 0; b < 256; b++)
            _byteSymbolIds[b] = vocab.IdOrMinusOne([ByteLevelAlphabet.ByteToChar[b]]);

        _ranks = new Dictionary<long, int>(merges.Count);
        _mergedIds = new int[merges.Count];
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            int l = Id(left), r = Id(right), m = Id(left + right);
            _ranks.TryAdd(PairKey(l, r), rank);
            _mergedIds[rank] = m;

            int Id(string token) => vocab.TryGetId(token, out int id) ? id
                : throw new ModelFormatException(source, $"{mergesField}[{rank}] (\"{left} {right}\") uses \"{token}\", which is not in the vocabulary");
        }
    }

    public void Encode(ReadOnlySpan<char> word, List<int> output)
    {
        if (word.IsEmpty) return;
        if (_cache.TryGet(word, out int[] cached)) { output.AddRange(cached); return; }

        int maxSymbols = word.Length * 3; // UTF-8 bytes per UTF-16 char ≤ 3
        int[]? rentedInts = null;
        long[]? rentedHeap = null;
        byte[]? rentedBytes = null;
        bool onStack = word.Length <= StackWordLength;
        Span<int> ints = onStack ? stackalloc int[3 * maxSymbols] : (rentedInts = ArrayPool<int>.Shared.Rent(3 * maxSymbols));
        Span<long> heap = onStack ? stackalloc long[3 * maxSymbols] : (rentedHeap = ArrayPool<long>.Shared.Rent(3 * maxSymbols));
        Span<byte> bytes = onStack ? stackalloc byte[maxSymbols] : (rentedBytes = ArrayPool<byte>.Shared.Rent(maxSymbols));
        try
        {
            int start = output.Count;
            bool whole = _ignoreMerges || (_wholeNewlineRuns && !word.ContainsAnyExcept('\n'));
            if (!(whole && TryWholeWord(word, bytes, output)))
            {
                Span<int> ids = ints[..maxSymbols];
                int n = _byteLevel ? ByteSymbols(word, bytes, ids) : CharSymbols(word, bytes, ids);
                Merge(ids, n, ints.Slice(maxSymbols, maxSymbols), ints.Slice(2 * maxSymbols, maxSymbols), heap, output);
            }
            _cache.Add(word, CollectionsMarshal.AsSpan(output)[start..]);
        }
        finally
        {
            if (rentedInts != null) ArrayPool<int>.Shared.Return(rentedInts);
            if (rentedHeap != null) ArrayPool<long>.Shared.Return(rentedHeap);
            if (rentedBytes != null) ArrayPool<byte>.Shared.Return(rentedBytes);
        }
    }

    /// <summary>ignore_merges: a word that is a token as a whole is that token.</summary>
    private bool TryWholeWord(ReadOnlySpan<char> word, Span<byte> bytes, List<int> output)
    {
        int id;
        if (_byteLevel)
        {
            int n = Encoding.UTF8.GetBytes(word, bytes);
            Span<char> mapped = n <= 512 ? stackalloc char[n] : new char[n];
            for (int i = 0; i < n; i++) mapped[i] = ByteLevelAlphabet.ByteToChar[bytes[i]];
            if (!_vocab.TryGetId(mapped, out id)) return false;
        }
        else if (!_vocab.TryGetId(word, out id)) return false;
        output.Add(id);
        return true;
    }

    private int ByteSymbols(ReadOnlySpan<char> word, Span<byte> bytes, Span<int> ids)
    {
        int nBytes = Encoding.UTF8.GetBytes(word, bytes);
        var unk = new UnkRun(this);
        int n = 0;
        for (int i = 0; i < nBytes; i++)
        {
            int id = _byteSymbolIds[bytes[i]];
            if (id >= 0) { unk.Flush(ids, ref n); ids[n++] = id; }
            else unk.Add(ids, ref n);
        }
        unk.Flush(ids, ref n);
        return n;
    }

    /// <summary>One symbol per code point; missing ones become byte tokens (byte fallback) or unk.</summary>
    private int CharSymbols(ReadOnlySpan<char> word, Span<byte> bytes, Span<int> ids)
    {
        var unk = new UnkRun(this);
        int n = 0;
        for (int i = 0; i < word.Length;)
        {
            int len = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var ch = word.Slice(i, len);
            i += len;
            if (_vocab.TryGetId(ch, out int id)) { unk.Flush(ids, ref n); ids[n++] = id; continue; }
            if (_fallbackIds != null && TryFallback(ch, bytes, ids, ref n, ref unk)) continue;
            unk.Add(ids, ref n);
        }
        unk.Flush(ids, ref n);
        return n;
    }

    private bool TryFallback(ReadOnlySpan<char> ch, Span<byte> bytes, Span<int> ids, ref int n, ref UnkRun unk)
    {
        int nb = Encoding.UTF8.GetBytes(ch, bytes);
        for (int b = 0; b < nb; b++) if (_fallbackIds![bytes[b]] < 0) return false;
        unk.Flush(ids, ref n);
        for (int b = 0; b < nb; b++) ids[n++] = _fallbackIds![bytes[b]];
        return true;
    }

    /// <summary>Unknown chars: one unk symbol each, or one per run with fuse_unk; dropped when there is no unk.</summary>
    private struct UnkRun(BpeMergeModel model)
    {
        private bool _pending;

        public void Add(Span<int> ids, ref int n)
        {
            if (model._unkId < 0) return;
            if (_pending && !model._fuseUnk) ids[n++] = model._unkId;
            _pending = true;
        }

        public void Flush(Span<int> ids, ref int n)
        {
            if (_pending) ids[n++] = model._unkId;
            _pending = false;
        }
    }

    /// <summary>Merges ids[0..n) in place (a linked list over the array) and appends the result.</summary>
    private void Merge(Span<int> ids, int n, Span<int> next, Span<int> prev, Span<long> heap, List<int> output)
    {
        int count = 0;
        for (int i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
        for (int i = 0; i + 1 < n; i++) PushPair(ids, i, i + 1, heap, ref count);

        while (count > 0)
        {
            long top = MinHeap.Pop(heap, ref count);
            int rank = (int)(top >> 32), pos = (int)top;
            int right = next[pos];
            // Stale entry: the left symbol was absorbed, or one side has changed since the pair was pushed.
            if (ids[pos] < 0 || right < 0 || !_ranks.TryGetValue(PairKey(ids[pos], ids[right]), out int r) || r != rank) continue;
            ids[pos] = _mergedIds[rank];
            ids[right] = -1;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) PushPair(ids, prev[pos], pos, heap, ref count);
            if (next[pos] >= 0) PushPair(ids, pos, next[pos], heap, ref count);
        }
        for (int i = 0; i >= 0 && n > 0; i = next[i]) output.Add(ids[i]);
    }

    private void PushPair(Span<int> ids, int left, int right, Span<long> heap, ref int count)
    {
        if (_ranks.TryGetValue(PairKey(ids[left], ids[right]), out int rank))
            MinHeap.Push(heap, ref count, ((long)rank << 32) | (uint)left);
    }

    private static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;
}
