using System.Text;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>
/// Every fixture tokenizer, built from tokenizer.json and from the GGUF metadata of the same vocabulary, gives
/// Hugging Face tokenizers' ids and decoded text for every recorded string; the streaming decoder's chunks
/// add up to Decode and are never broken UTF-8.
/// </summary>
public sealed class TokenizerParityTests
{
    private static readonly Lazy<TokenizerFixtures.Cases> Cases = new(TokenizerFixtures.Load);

    public static TheoryData<string, string> Tokenizers()
    {
        var data = new TheoryData<string, string>();
        foreach (string name in TokenizerFixtures.Names) { data.Add(name, "json"); data.Add(name, "gguf"); }
        return data;
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void EncodeGivesReferenceIds(string name, string source)
    {
        var tok = TokenizerFixtures.Build(name, source);
        var (strings, expected) = (Cases.Value.Strings, Cases.Value.Results[name]);
        var failures = new List<string>();
        for (int i = 0; i < strings.Length; i++)
        {
            Check(failures, strings[i], "with special", expected.Ids[i], tok.Encode(strings[i]));
            Check(failures, strings[i], "without special", expected.IdsNoSpecial[i], tok.Encode(strings[i], addSpecial: false));
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void DecodeGivesReferenceText(string name, string source)
    {
        var tok = TokenizerFixtures.Build(name, source);
        var expected = Cases.Value.Results[name];
        for (int i = 0; i < expected.IdsNoSpecial.Length; i++)
        {
            Assert.Equal(expected.Decoded[i], tok.Decode(expected.IdsNoSpecial[i]));
            Assert.Equal(expected.DecodedSkipSpecial[i], tok.Decode(expected.IdsNoSpecial[i], skipSpecial: true));
        }
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void StreamingChunksAddUpToDecode(string name, string source)
    {
        var tok = TokenizerFixtures.Build(name, source);
        var expected = Cases.Value.Results[name];
        for (int i = 0; i < expected.Ids.Length; i++)
        {
            foreach (bool skip in new[] { false, true })
            {
                Assert.Equal(tok.Decode(expected.Ids[i], skip), Stream(tok, expected.Ids[i], skip));
                Assert.Equal(skip ? expected.DecodedSkipSpecial[i] : expected.Decoded[i], Stream(tok, expected.IdsNoSpecial[i], skip));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void WithoutParseSpecialControlTokenTextIsPlainText(string name, string source)
    {
        var tok = TokenizerFixtures.Build(name, source);
        foreach (string s in Cases.Value.Strings.Where(s => s.Contains("<s>") || s.Contains("<|")))
        {
            int[] ids = tok.Encode(s, addSpecial: false, parseSpecial: false);
            Assert.DoesNotContain(ids, tok.IsSpecial);
            Assert.Equal(s, tok.Decode(ids));
        }
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void SpecialTokensAndStopIdsComeFromTheFiles(string name, string source)
    {
        var tok = TokenizerFixtures.Build(name, source);
        var (bos, eos) = name switch
        {
            "gpt2-bpe" => ("<|endoftext|>", "<|endoftext|>"),
            "llama3-bpe" => ("<|begin_of_text|>", "<|end_of_text|>"),
            _ => ("<s>", "</s>"),
        };
        Assert.Equal(bos, tok.TokenText(tok.BosId!.Value));
        Assert.Equal(eos, tok.TokenText(tok.EosId!.Value));
        Assert.Contains(tok.EosId!.Value, tok.StopIds);
        Assert.Equal(name != "gpt2-bpe", tok.AddBos);
        Assert.Equal(name == "llama3-bpe", tok.ChatTemplate != null);
        Assert.True(tok.IsSpecial(tok.BosId.Value));
        Assert.True(tok.TokenBytes(tok.BosId.Value).IsEmpty);
    }

    /// <summary>A generated continuation keeps its first space (only text that starts at the beginning loses it).</summary>
    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void ContinuationStreamKeepsItsLeadingSpace(string name, string source)
    {
        var tok = TokenizerFixtures.Build(name, source);
        int[] ids = tok.Encode("Hello world", addSpecial: false);
        string firstWord = tok.Decode(ids.AsSpan(0, 1));
        var stream = new StreamingDecoder(tok, atTextStart: false);
        var text = new StringBuilder();
        foreach (int id in ids[1..]) text.Append(stream.Push(id));
        text.Append(stream.Flush());
        Assert.Equal("Hello world", firstWord + text);
    }

    private static string Stream(ITokenizer tok, int[] ids, bool skipSpecial)
    {
        var stream = new StreamingDecoder(tok, skipSpecial);
        var text = new StringBuilder();
        foreach (int id in ids) AppendChunk(text, stream.Push(id));
        AppendChunk(text, stream.Flush());
        return text.ToString();
    }

    /// <summary>Every chunk must be whole characters: no lone surrogate at either end, no replacement char.</summary>
    private static void AppendChunk(StringBuilder text, ReadOnlySpan<char> chunk)
    {
        if (!chunk.IsEmpty)
        {
            Assert.False(char.IsLowSurrogate(chunk[0]), "chunk starts inside a surrogate pair");
            Assert.False(char.IsHighSurrogate(chunk[^1]), "chunk ends inside a surrogate pair");
            Assert.Equal(-1, chunk.IndexOf('\uFFFD'));
        }
        text.Append(chunk);
    }

    private static void Check(List<string> failures, string text, string what, int[] expected, int[] actual)
    {
        if (!expected.SequenceEqual(actual))
            failures.Add($"{what} \"{Escape(text)}\": expected [{string.Join(",", expected)}] got [{string.Join(",", actual)}]");
    }

    private static string Escape(string s) => s.Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t");
}
