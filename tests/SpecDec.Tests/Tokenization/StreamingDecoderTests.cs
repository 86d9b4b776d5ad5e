using System.Text;
using SpecDec.Tokenization;

namespace SpecDec.Tests.Tokenization;

/// <summary>The streaming decoder on a byte-level vocabulary, where every UTF-8 byte is its own token.</summary>
public sealed class StreamingDecoderTests
{
    private static readonly ITokenizer Bytes = TokenizerFactory.FromGgufMetadata(new Dictionary<string, object>
    {
        ["tokenizer.ggml.model"] = "gpt2",
        ["tokenizer.ggml.tokens"] = Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ByteToChar[b].ToString()).ToArray(),
        ["tokenizer.ggml.merges"] = Array.Empty<string>(),
    }, "bytes.gguf");

    [Fact]
    public void ACharacterSplitOverTokensComesOutWhole()
    {
        var stream = new StreamingDecoder(Bytes);
        int[] ids = Bytes.Encode("a😀");
        Assert.Equal(5, ids.Length);
        Assert.Equal("a", stream.Push(ids[0]).ToString());
        for (int i = 1; i < 4; i++) Assert.True(stream.Push(ids[i]).IsEmpty);
        Assert.Equal("😀", stream.Push(ids[4]).ToString());
        Assert.True(stream.Flush().IsEmpty);
    }

    [Fact]
    public void InvalidAndUnfinishedBytesBecomeReplacementCharsLikeDecode()
    {
        // "é" cut short by "x", then a dangling lead byte of a 4-byte sequence at the end.
        int[] ids = [0xC3, 'x', 0xF0, 0x9F];
        var stream = new StreamingDecoder(Bytes);
        var text = new StringBuilder();
        foreach (int id in ids) text.Append(stream.Push(id));
        text.Append(stream.Flush());
        Assert.Equal("\uFFFDx\uFFFD", text.ToString());
        Assert.Equal(Bytes.Decode(ids), text.ToString());
    }

    [Fact]
    public void IdsPastTheVocabularyHaveNoText()
    {
        var stream = new StreamingDecoder(Bytes);
        Assert.True(stream.Push(Bytes.VocabSize + 3).IsEmpty);
        Assert.Equal("a", Bytes.Decode([Bytes.VocabSize + 3, 'a']));
    }
}
