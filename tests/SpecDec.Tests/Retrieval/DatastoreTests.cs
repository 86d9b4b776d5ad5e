using SpecDec.Retrieval;
using SpecDec.Sampling;
using SpecDec.Tests.Formats;
using SpecDec.Tests.Generation;

namespace SpecDec.Tests.Retrieval;

public sealed class DatastoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static readonly TestTokenizer Tokenizer = new(6);

    public void Dispose() => _dir.Dispose();

    private string Build(int[] tokens, TestTokenizer? tokenizer = null, string name = "store.sdds")
    {
        string path = _dir.File(name);
        using (var stream = File.Create(path)) DatastoreWriter.Write(stream, tokens, tokenizer ?? Tokenizer);
        return path;
    }

    /// <summary>Random documents over a small vocabulary: many repeated n-grams, some suffixes equal past the sort depth.</summary>
    private static int[] RandomDocuments(ulong seed, int length)
    {
        var rng = new Xoshiro256StarStar(seed);
        var tokens = new int[length];
        for (int i = 0; i < length; i++) tokens[i] = rng.NextUInt64() % 23 == 0 ? -1 : (int)(rng.NextUInt64() % 3);
        for (int i = 100; i < 180; i++) tokens[i] = 1; // a run longer than the sort depth
        tokens[^1] = -1;
        return tokens;
    }

    [Fact]
    public void FindReturnsExactlyTheSuffixesThatStartWithThePattern()
    {
        int[] tokens = RandomDocuments(7, 3000);
        using var store = Datastore.Open(Build(tokens), Tokenizer);
        Assert.Equal(tokens.Length, store.TokenCount);
        Assert.Equal(tokens.Count(t => t >= 0), store.SuffixCount);
        var rng = new Xoshiro256StarStar(3);
        for (int trial = 0; trial < 200; trial++)
        {
            int length = 1 + (int)(rng.NextUInt64() % 16);
            int[] pattern = Enumerable.Range(0, length).Select(_ => (int)(rng.NextUInt64() % 3)).ToArray();
            var expected = Enumerable.Range(0, tokens.Length - length + 1)
                .Where(p => tokens.AsSpan(p, length).SequenceEqual(pattern)).Select(p => (long)p).ToHashSet();
            var (first, count) = store.Find(pattern);
            var found = Enumerable.Range(0, (int)count).Select(i => store.Suffix(first + i)).ToHashSet();
            Assert.Equal(expected, found);
        }
        Assert.Equal(-1, store.Token(tokens.Length - 1));
        Assert.Equal(-1, store.Token(tokens.Length));
        Assert.Equal(tokens[5], store.Token(5));
    }

    [Fact]
    public void TheSuffixArrayIsSortedAndTheFileIsTheSameEveryTime()
    {
        int[] tokens = RandomDocuments(11, 2000);
        uint[] sa = SuffixArray.Build(tokens);
        static int Key(int[] t, int p) => p < t.Length ? (t[p] < 0 ? int.MaxValue : t[p]) : -1;
        for (int j = 1; j < sa.Length; j++)
        {
            int a = (int)sa[j - 1], b = (int)sa[j], k = 0;
            while (k < SuffixArray.Depth && a + k < tokens.Length && Key(tokens, a + k) == Key(tokens, b + k) && tokens[a + k] >= 0) k++;
            // Equal for the sort depth, or up to both documents' ends: position order.
            bool tie = k == SuffixArray.Depth || (a + k < tokens.Length && b + k < tokens.Length && tokens[a + k] < 0 && tokens[b + k] < 0);
            Assert.True(tie ? a < b : Key(tokens, a + k) < Key(tokens, b + k), $"suffixes {a} and {b} out of order: {string.Join(",", tokens.Skip(a).Take(k + 2))} / {string.Join(",", tokens.Skip(b).Take(k + 2))}");
        }
        Assert.Equal(File.ReadAllBytes(Build(tokens, name: "a.sdds")), File.ReadAllBytes(Build(tokens, name: "b.sdds")));
    }

    [Fact]
    public void BadFilesAreRefusedWithOneErrorNamingTheFile()
    {
        string good = Build(RandomDocuments(5, 500));
        byte[] bytes = File.ReadAllBytes(good);

        string truncated = _dir.Write("truncated.sdds", bytes[..^10]);
        Assert.Contains("truncated", Open(truncated));
        Assert.Contains("truncated", Open(_dir.Write("header.sdds", bytes[..20])));

        byte[] flipped = (byte[])bytes.Clone();
        flipped[^7] ^= 0x10;
        Assert.Contains("checksum", Open(_dir.Write("flipped.sdds", flipped)));

        Assert.Contains("not a SpecDec datastore", Open(_dir.Write("other.sdds", "GGUF and then some more bytes of a file"u8.ToArray().Concat(new byte[40]).ToArray())));

        string otherTokenizer = Build([0, 1, 2, -1], Tokenizer.WithToken(2, "zz"), "other-tokenizer.sdds");
        string error = Open(otherTokenizer);
        Assert.Contains("another tokenizer", error);
        Assert.Contains("another tokenizer", Open(Build([0, 1, -1], new TestTokenizer(7), "bigger.sdds")));

        Assert.Contains("no such file", Open(_dir.File("missing.sdds")));
    }

    private static string Open(string path)
    {
        var error = Assert.Throws<SpecDecException>(() => Datastore.Open(path, Tokenizer).Dispose());
        Assert.Contains(path, error.Message);
        return error.Message;
    }

    [Fact]
    public void TokenHistoryFindsTheLongestMatchWithAContinuationMostRecentFirst()
    {
        var history = new TokenHistory();
        history.Clear(8);
        history.Append([0, 1, 2, 3, -1, 4, 1, 2, 5, 1, 2]);
        var starts = new int[4];
        // "1 2" is followed by 3 (at 3) and 5 (at 8); the last "1 2" ends the history: no continuation.
        Assert.Equal(2, history.Match([9, 1, 2], starts, out int found));
        Assert.Equal([8, 3], starts[..found]);
        // "4 1 2" occurred once, followed by 5; the separator stops "3 -1 4" from being an n-gram.
        Assert.Equal(3, history.Match([4, 1, 2], starts, out found));
        Assert.Equal([8], starts[..found]);
        Assert.Equal(0, history.Match([3, 4], starts, out found));
        Assert.Equal(0, history.Match([1], starts, out found));
    }
}
