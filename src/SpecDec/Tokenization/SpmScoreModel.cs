using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace SpecDec.Tokenization;

/// <summary>
/// SentencePiece BPE by token score, as llama.cpp's llm_tokenizer_spm runs GGUF `tokenizer.ggml.model ==
/// "llama"`: the word starts as one symbol per code point; repeatedly the adjacent pair whose concatenation is
/// a token with the highest score (leftmost on ties) is merged. Symbols that are not tokens become
/// "&lt;0xNN&gt;" byte tokens (else the byte's own one-char token, else unk).
/// </summary>
[SkipLocalsInit] // the stack buffers are written before they are read
internal sealed class SpmScoreModel : IWordEncoder
{
    private const int StackWordLength = 256;

    private readonly TokenVocabulary _vocab;
    private readonly float[] _scores;       // [vocab] id → score
    private readonly int[] _byteIds;        // [256] token for each byte, -1 where there is none
    private readonly int _unkId;

    public SpmScoreModel(TokenVocabulary vocab, float[] scores, int unkId)
    {
        _vocab = vocab;
        _scores = scores;
        _unkId = unkId;
        _byteIds = vocab.ByteTokenIds();
        for (int b = 0; b < 128; b++)
            if (_byteIds[b] < 0) _byteIds[b] = vocab.IdOrMinusOne([(char)b]);
    }

    /// <summary>Heap entry: the candidate merge of symbols at left and its right neighbour, size chars long.</summary>
    private readonly record struct Bigram(float Score, int Left, int Right, int Size) : IComparable<Bigram>
    {
        // Min-heap order: highest score first, then leftmost.
        public int CompareTo(Bigram other) =>
            Score != other.Score ? other.Score.CompareTo(Score) : Left.CompareTo(other.Left);
    }

    public void Encode(ReadOnlySpan<char> word, List<int> output)
    {
        if (word.IsEmpty) return;
        int n = word.Length; // symbols ≤ chars
        int[]? rentedInts = null;
        Bigram[]? rentedHeap = null;
        Span<int> ints = n <= StackWordLength ? stackalloc int[4 * n] : (rentedInts = ArrayPool<int>.Shared.Rent(4 * n));
        Span<Bigram> heap = n <= StackWordLength ? stackalloc Bigram[3 * n] : (rentedHeap = ArrayPool<Bigram>.Shared.Rent(3 * n));
        try
        {
            Span<int> start = ints[..n], length = ints.Slice(n, n), next = ints.Slice(2 * n, n), prev = ints.Slice(3 * n, n);
            int count = 0;
            for (int i = 0; i < word.Length;)
            {
                int len = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
                start[count] = i; length[count] = len; prev[count] = count - 1; next[count] = count + 1;
                count++;
                i += len;
            }
            next[count - 1] = -1;

            int heapCount = 0;
            for (int i = 0; i + 1 < count; i++) TryPush(word, start, length, i, i + 1, heap, ref heapCount);
            while (heapCount > 0)
            {
                var b = MinHeap.Pop(heap, ref heapCount);
                // Stale: one side was merged away or has grown since this pair was pushed.
                if (length[b.Left] == 0 || length[b.Right] == 0 || length[b.Left] + length[b.Right] != b.Size) continue;
                length[b.Left] += length[b.Right];
                length[b.Right] = 0;
                next[b.Left] = next[b.Right];
                if (next[b.Left] >= 0) prev[next[b.Left]] = b.Left;
                if (prev[b.Left] >= 0) TryPush(word, start, length, prev[b.Left], b.Left, heap, ref heapCount);
                if (next[b.Left] >= 0) TryPush(word, start, length, b.Left, next[b.Left], heap, ref heapCount);
            }

            for (int i = 0; i >= 0; i = next[i]) Emit(word.Slice(start[i], length[i]), output);
        }
        finally
        {
            if (rentedInts != null) ArrayPool<int>.Shared.Return(rentedInts);
            if (rentedHeap != null) ArrayPool<Bigram>.Shared.Return(rentedHeap);
        }
    }

    private void TryPush(ReadOnlySpan<char> word, Span<int> start, Span<int> length, int left, int right,
        Span<Bigram> heap, ref int heapCount)
    {
        int size = length[left] + length[right];
        if (_vocab.TryGetId(word.Slice(start[left], size), out int id))
            MinHeap.Push(heap, ref heapCount, new Bigram(_scores[id], left, right, size));
    }

    /// <summary>A final symbol: its token, or (a code point with no token) its bytes.</summary>
    private void Emit(ReadOnlySpan<char> symbol, List<int> output)
    {
        if (_vocab.TryGetId(symbol, out int id)) { output.Add(id); return; }
        Span<byte> bytes = stackalloc byte[4];
        int nb = Encoding.UTF8.GetBytes(symbol, bytes);
        for (int b = 0; b < nb; b++)
        {
            int byteId = _byteIds[bytes[b]];
            if (byteId >= 0) output.Add(byteId);
            else if (_unkId >= 0) output.Add(_unkId);
        }
    }
}
