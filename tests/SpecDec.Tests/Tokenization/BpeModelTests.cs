using CsCheck;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>
/// The heap-based merge loops against the textbook algorithms they implement (the reference twins): BPE merges
/// the adjacent pair of lowest merge rank, leftmost first; SentencePiece merges the adjacent pair whose
/// concatenation is the highest-scoring token, leftmost first. Random merge tables over a small alphabet make
/// long chains, repeated pairs and ties; the words come from CsCheck, so a failing one shrinks.
/// </summary>
public sealed class BpeModelTests
{
    private const string Alphabet = "abcd";

    [Fact]
    public void RankMergesMatchTextbookBpe()
    {
        var rng = new Random(7);
        for (int trial = 0; trial < 8; trial++)
        {
            var (tokens, merges) = RandomMerges(rng, 60);
            var model = new BpeMergeModel(new TokenVocabulary(tokens), merges, byteLevel: false, byteFallback: false,
                unkId: -1, fuseUnk: false, ignoreMerges: false, "test", "merges");
            PropertyCheck.ForAll(Words(200), word => // past the stack buffer sometimes
            {
                var ids = new List<int>();
                model.Encode(word, ids);
                Assert.Equal(ReferenceBpe(word, merges), ids.Select(id => tokens[id]).ToList());
                ids.Clear();
                model.Encode(word, ids); // from the cache this time
                Assert.Equal(ReferenceBpe(word, merges), ids.Select(id => tokens[id]).ToList());
            }, seed: (ulong)trial, cases: 100);
        }
    }

    [Fact]
    public void ScoreMergesMatchTextbookSentencePiece()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 8; trial++)
        {
            var (tokens, _) = RandomMerges(rng, 60);
            // Random scores with deliberate ties.
            float[] scores = [.. tokens.Select(_ => (float)rng.Next(-20, 0))];
            var model = new SpmScoreModel(new TokenVocabulary(tokens), scores, unkId: -1);
            var byText = tokens.Select((t, id) => (t, id)).ToDictionary(p => p.t, p => p.id);
            PropertyCheck.ForAll(Words(300), word =>
            {
                var ids = new List<int>();
                model.Encode(word, ids);
                Assert.Equal(ReferenceSpm(word, byText, scores), ids.Select(id => tokens[id]).ToList());
            }, seed: (ulong)trial, cases: 100);
        }
    }

    [Fact]
    public void UnknownCharsFallBackToBytesThenUnk()
    {
        // "é" is two UTF-8 bytes; only <0xC3> and <0xA9> exist. "中" has no byte tokens: it becomes <unk>, fused with the next.
        string[] tokens = ["<unk>", "a", "<0xC3>", "<0xA9>"];
        var model = new BpeMergeModel(new TokenVocabulary(tokens), [], byteLevel: false, byteFallback: true,
            unkId: 0, fuseUnk: true, ignoreMerges: false, "test", "merges");
        var ids = new List<int>();
        model.Encode("aé中中a", ids);
        Assert.Equal([1, 2, 3, 0, 1], ids);
    }

    private static (string[] Tokens, List<(string, string)> Merges) RandomMerges(Random rng, int count)
    {
        var tokens = Alphabet.Select(c => c.ToString()).ToList();
        var merges = new List<(string, string)>();
        var seen = new HashSet<(string, string)>();
        while (merges.Count < count)
        {
            string l = tokens[rng.Next(tokens.Count)], r = tokens[rng.Next(tokens.Count)];
            if (l.Length + r.Length > 8 || !seen.Add((l, r))) continue;
            merges.Add((l, r));
            if (!tokens.Contains(l + r)) tokens.Add(l + r); // two merges may make the same token
        }
        return ([.. tokens], merges);
    }

    /// <summary>Words of 1 to <paramref name="maxLength"/> letters; a failing word shrinks to a short one.</summary>
    private static Gen<string> Words(int maxLength) => Gen.String[Gen.Char[Alphabet], 1, maxLength];

    private static List<string> ReferenceBpe(string word, List<(string, string)> merges)
    {
        var rank = new Dictionary<(string, string), int>();
        for (int i = 0; i < merges.Count; i++) rank.TryAdd(merges[i], i);
        var symbols = word.Select(c => c.ToString()).ToList();
        while (true)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (rank.TryGetValue((symbols[i], symbols[i + 1]), out int r) && r < bestRank) (best, bestRank) = (i, r);
            if (best < 0) return symbols;
            symbols[best] += symbols[best + 1];
            symbols.RemoveAt(best + 1);
        }
    }

    private static List<string> ReferenceSpm(string word, Dictionary<string, int> ids, float[] scores)
    {
        var symbols = word.Select(c => c.ToString()).ToList();
        while (true)
        {
            int best = -1;
            float bestScore = float.NegativeInfinity;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (ids.TryGetValue(symbols[i] + symbols[i + 1], out int id) && scores[id] > bestScore) (best, bestScore) = (i, scores[id]);
            if (best < 0) return symbols;
            symbols[best] += symbols[best + 1];
            symbols.RemoveAt(best + 1);
        }
    }
}
