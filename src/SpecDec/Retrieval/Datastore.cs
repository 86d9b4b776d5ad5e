using System.Buffers.Binary;
using SpecDec.Formats;
using SpecDec.Tokenization;

namespace SpecDec.Retrieval;

/// <summary>
/// A retrieval datastore (<see cref="DatastoreFormat"/>), memory-mapped: token ids of a text collection and
/// the suffix array over them. <see cref="Find"/> is a binary search for the suffixes that start with a
/// pattern; their continuations are read straight from the mapping, so a store of any size costs only the
/// pages a lookup touches. Opening checks the header, the size, the checksum and the tokenizer, and refuses
/// anything else with one error that names the file.
/// </summary>
public sealed unsafe class Datastore : IDisposable
{
    private readonly MappedFile _file;
    private readonly byte* _tokens;     // [n × width]
    private readonly uint* _suffixes;   // [m]
    private readonly int _width;

    private Datastore(MappedFile file, int width, long tokens, long suffixes)
    {
        _file = file;
        _width = width;
        TokenCount = tokens;
        SuffixCount = suffixes;
        _tokens = file.Pointer + DatastoreFormat.HeaderBytes;
        _suffixes = (uint*)(_tokens + DatastoreFormat.TokenBytes(tokens, width));
    }

    public string Path => _file.Path;

    /// <summary>Tokens in the store, document separators included.</summary>
    public long TokenCount { get; }

    /// <summary>Suffixes indexed: the tokens that are not separators.</summary>
    public long SuffixCount { get; }

    /// <summary>Opens <paramref name="path"/> for a model whose tokenizer is <paramref name="tokenizer"/>.</summary>
    public static Datastore Open(string path, ITokenizer tokenizer)
    {
        MappedFile file;
        try
        {
            file = MappedFile.Open(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpecDecException($"datastore {path}: {e.Message}");
        }
        try
        {
            var store = Check(file, tokenizer);
            return store;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static Datastore Check(MappedFile file, ITokenizer tokenizer)
    {
        string path = file.Path;
        var head = file.Head;
        if (head.Length < DatastoreFormat.HeaderBytes)
            throw new SpecDecException($"datastore {path} is truncated: {head.Length} bytes, its header alone takes {DatastoreFormat.HeaderBytes}");
        if (!head[..4].SequenceEqual(DatastoreFormat.Magic))
            throw new SpecDecException($"{path} is not a SpecDec datastore (it does not start with \"SDDS\"); build one with `specdec datastore build`");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
        if (version != DatastoreFormat.Version)
            throw new SpecDecException($"datastore {path} has format version {version}; this SpecDec reads version {DatastoreFormat.Version}");
        ulong fingerprint = BinaryPrimitives.ReadUInt64LittleEndian(head[8..]);
        uint vocab = BinaryPrimitives.ReadUInt32LittleEndian(head[16..]);
        uint width = BinaryPrimitives.ReadUInt32LittleEndian(head[20..]);
        ulong tokens = BinaryPrimitives.ReadUInt64LittleEndian(head[24..]);
        ulong suffixes = BinaryPrimitives.ReadUInt64LittleEndian(head[32..]);
        ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(head[40..]);
        if (width is not (2 or 4) || tokens > uint.MaxValue || suffixes > tokens)
            throw new SpecDecException($"datastore {path} is corrupt: its header gives token width {width}, {tokens} tokens, {suffixes} suffixes");
        long expected = DatastoreFormat.FileBytes((long)tokens, (int)width, (long)suffixes);
        if (file.Length != expected)
            throw new SpecDecException($"datastore {path} is truncated or corrupt: its header describes {expected} bytes but the file has {file.Length}");
        if (DatastoreFormat.Checksum(file.Pointer + DatastoreFormat.HeaderBytes, expected - DatastoreFormat.HeaderBytes) != checksum)
            throw new SpecDecException($"datastore {path} is corrupt: its contents do not match the checksum in its header");
        ulong model = TokenizerFingerprint.Of(tokenizer);
        if (vocab != tokenizer.VocabSize || fingerprint != model)
            throw new SpecDecException($"datastore {path} was built with another tokenizer (vocabulary {vocab}, fingerprint {fingerprint:x16}) than the model's ({tokenizer.VocabSize}, {model:x16}); build it again with this model's tokenizer (`specdec datastore build --model …`)");
        return new Datastore(file, (int)width, (long)tokens, (long)suffixes);
    }

    /// <summary>The id at <paramref name="position"/>; −1 for a separator or past the end.</summary>
    public int Token(long position)
    {
        if ((ulong)position >= (ulong)TokenCount) return -1;
        uint raw = Raw(position);
        return raw == Separator ? -1 : (int)raw;
    }

    /// <summary>Where suffix <paramref name="index"/> (in sorted order) starts.</summary>
    public long Suffix(long index) => _suffixes[index];

    /// <summary>The suffixes that start with <paramref name="pattern"/>: the first index in sorted order and how many.</summary>
    public (long First, long Count) Find(ReadOnlySpan<int> pattern)
    {
        long lo = Bound(pattern, upper: false);
        long hi = Bound(pattern, upper: true);
        return (lo, hi - lo);
    }

    private uint Separator => _width == 2 ? ushort.MaxValue : uint.MaxValue;

    private uint Raw(long position) => _width == 2 ? ((ushort*)_tokens)[position] : ((uint*)_tokens)[position];

    /// <summary>First suffix index whose text is ≥ the pattern (or, <paramref name="upper"/>, &gt; it), comparing the pattern's length.</summary>
    private long Bound(ReadOnlySpan<int> pattern, bool upper)
    {
        long lo = 0, hi = SuffixCount;
        while (lo < hi)
        {
            long mid = lo + (hi - lo) / 2;
            int c = Compare(_suffixes[mid], pattern);
            if (c < 0 || (upper && c == 0)) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The suffix at <paramref name="start"/> against the pattern, over the pattern's length: −1, 0 (it starts with it) or 1.</summary>
    private int Compare(long start, ReadOnlySpan<int> pattern)
    {
        for (int j = 0; j < pattern.Length; j++)
        {
            if (start + j >= TokenCount) return -1; // a shorter suffix sorts first
            uint t = Raw(start + j), p = (uint)pattern[j];
            if (t != p) return t < p ? -1 : 1;
        }
        return 0;
    }

    public void Dispose() => _file.Dispose();
}
