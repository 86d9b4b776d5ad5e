using System.Text;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Generation;

/// <summary>
/// A real, deliberately simple tokenizer for loop tests: token i is the i-th entry of a byte list (by default
/// one letter each: 0 = "a", 1 = "b", …), text is their concatenation.
/// </summary>
internal sealed class TestTokenizer : ITokenizer
{
    private readonly byte[][] _tokens;

    public TestTokenizer(int vocabSize, int? eosId = null, int? bosId = null)
        : this(Enumerable.Range(0, vocabSize).Select(i => new[] { (byte)('a' + i) }).ToArray(), eosId, bosId)
    {
        if (vocabSize > 26) throw new ArgumentOutOfRangeException(nameof(vocabSize), "letters a–z only");
    }

    public TestTokenizer(byte[][] tokens, int? eosId = null, int? bosId = null)
    {
        _tokens = tokens;
        EosId = eosId;
        BosId = bosId;
        StopIds = eosId is int e ? new HashSet<int> { e } : new HashSet<int>();
    }

    public string Kind => "test-chars";
    public int VocabSize => _tokens.Length;
    public int? BosId { get; }
    public int? EosId { get; }
    public IReadOnlySet<int> StopIds { get; }
    public bool AddBos => BosId is not null;
    public string? ChatTemplate { get; init; }

    /// <summary>Control tokens besides BOS and EOS (chat markers).</summary>
    public IReadOnlySet<int> ControlIds { get; init; } = new HashSet<int>();

    /// <summary>Overrides the text of one token, to make two vocabularies differ.</summary>
    public TestTokenizer WithToken(int id, string text)
    {
        var tokens = (byte[][])_tokens.Clone();
        tokens[id] = Encoding.UTF8.GetBytes(text);
        return new TestTokenizer(tokens, EosId, BosId) { ChatTemplate = ChatTemplate, ControlIds = ControlIds };
    }

    public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = true)
    {
        var ids = new List<int>();
        if (addSpecial && BosId is int bos) ids.Add(bos);
        foreach (char c in text)
        {
            int id = Array.FindIndex(_tokens, t => t.Length == 1 && t[0] == c);
            if (id < 0) throw new ArgumentException($"no token for '{c}'");
            ids.Add(id);
        }
        return [.. ids];
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false)
    {
        var bytes = new List<byte>();
        foreach (int id in ids) bytes.AddRange(_tokens[id]);
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    public string TokenText(int id) => Encoding.UTF8.GetString(_tokens[id]);
    public ReadOnlySpan<byte> TokenBytes(int id) => _tokens[id];
    public bool IsSpecial(int id) => id == BosId || id == EosId || ControlIds.Contains(id);
}
