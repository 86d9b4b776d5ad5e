using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace SpecDec.Benchmarks;

/// <summary>
/// The Microsoft.ML.Tokenizers equivalent of a Hugging Face tokenizer.json, built from the same vocabulary,
/// merges and added tokens, for comparing its ids and speed with ours (docs/architecture.md, Dependencies).
/// Byte-level BPE becomes <see cref="TiktokenTokenizer"/> with each token's rank = its id (the BPE trainer numbers
/// merged tokens in merge order, and Tiktoken keeps a pre-token that is a whole vocabulary entry, which is
/// Llama 3's ignore_merges) or <see cref="BpeTokenizer"/> with ByteLevel on; SentencePiece-style BPE becomes
/// <see cref="LlamaTokenizer"/> from a SentencePiece model written here, because the package reads byte-fallback
/// BPE only from a SentencePiece protobuf (its tokenizer.json reader takes Unigram models only).
/// </summary>
public sealed class MlTokenizer
{
    // Hugging Face's ByteLevel(use_regex=true) split, i.e. GPT-2's.
    private const string Gpt2Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Tokenizer _tokenizer;
    private readonly int? _bos;

    private MlTokenizer(Tokenizer tokenizer, int? bos) => (_tokenizer, _bos) = (tokenizer, bos);

    /// <summary>Encodes with the special-token texts recognised, as our Encode does, and BOS first if <paramref name="addSpecial"/> and the tokenizer adds one.</summary>
    public int[] Encode(string text, bool addSpecial = true)
    {
        var ids = _tokenizer.EncodeToIds(text);
        if (!addSpecial || _bos is not { } bos) return [.. ids];
        var withBos = new int[ids.Count + 1];
        withBos[0] = bos;
        for (int i = 0; i < ids.Count; i++) withBos[i + 1] = ids[i];
        return withBos;
    }

    /// <param name="kind">"tiktoken" or "bpe" for byte-level BPE; "llama" (SentencePiece) for a byte-fallback BPE.</param>
    public static MlTokenizer FromTokenizerJson(string path, string kind)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var model = root.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        string[] merges = [.. model.GetProperty("merges").EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String
            ? m.GetString()! : m[0].GetString() + " " + m[1].GetString())];
        var added = root.GetProperty("added_tokens").EnumerateArray().ToDictionary(t => t.GetProperty("content").GetString()!, t => t.GetProperty("id").GetInt32());
        int? bos = BosOf(root, added);

        if (kind == "llama")
        {
            using var proto = new MemoryStream(SentencePieceModel(vocab, merges, added, bos));
            // BOS is added here like for the others, so the package's own flag stays off.
            return new MlTokenizer(LlamaTokenizer.Create(proto, addBeginOfSentence: false, addEndOfSentence: false, specialTokens: added), bos);
        }

        string regex = PreTokenizerRegex(root);
        var specials = added.ToDictionary();
        var pre = new RegexPreTokenizer(new Regex(regex, RegexOptions.Compiled), specials);
        if (kind == "bpe")
            return new MlTokenizer(BpeTokenizer.Create(new BpeOptions(vocab) { Merges = merges, ByteLevel = true, PreTokenizer = pre, SpecialTokens = specials }), bos);
        if (kind != "tiktoken") throw new ArgumentOutOfRangeException(nameof(kind));

        // Tiktoken's file: base64 of each token's bytes and its rank. Added tokens are specials, not ranks.
        var ranks = new StringWriter();
        var fromUnicode = ByteLevelDecoding();
        foreach (var (token, id) in vocab.OrderBy(p => p.Value))
        {
            if (added.ContainsKey(token)) continue;
            byte[] bytes = [.. token.Select(c => fromUnicode[c])];
            ranks.Write($"{Convert.ToBase64String(bytes)} {id}\n");
        }
        using var ranksStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(ranks.ToString()));
        return new MlTokenizer(TiktokenTokenizer.Create(ranksStream, pre, normalizer: null, specials), bos);
    }

    /// <summary>BOS is the first token of a TemplateProcessing post-processor's single template, if any.</summary>
    private static int? BosOf(JsonElement root, Dictionary<string, int> added)
    {
        if (!root.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object) return null;
        var steps = post.GetProperty("type").GetString() == "Sequence" ? [.. post.GetProperty("processors").EnumerateArray()] : new[] { post };
        foreach (var step in steps)
        {
            if (step.GetProperty("type").GetString() != "TemplateProcessing") continue;
            var first = step.GetProperty("single")[0];
            if (first.TryGetProperty("SpecialToken", out var special)) return added[special.GetProperty("id").GetString()!];
        }
        return null;
    }

    /// <summary>The Split regex of a Sequence pre-tokenizer (Llama 3), else GPT-2's (ByteLevel with use_regex).</summary>
    private static string PreTokenizerRegex(JsonElement root)
    {
        var pre = root.GetProperty("pre_tokenizer");
        if (pre.GetProperty("type").GetString() == "Sequence")
            foreach (var step in pre.GetProperty("pretokenizers").EnumerateArray())
                if (step.GetProperty("type").GetString() == "Split") return step.GetProperty("pattern").GetProperty("Regex").GetString()!;
        return Gpt2Regex;
    }

    /// <summary>GPT-2's byte ↔ printable character table, inverted: the character that stands for each byte.</summary>
    private static Dictionary<char, byte> ByteLevelDecoding()
    {
        var map = new Dictionary<char, byte>();
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[printable ? (char)b : (char)(256 + extra++)] = (byte)b;
        }
        return map;
    }

    /// <summary>
    /// A SentencePiece ModelProto (BPE, byte fallback, dummy prefix, "▁" for spaces) with the scores llama.cpp's
    /// converter would carry: −(rank of the merge that makes the piece), and below all of those for pieces no merge
    /// makes, as tests/SpecDec.Tests/Tokenization/TokenizerFixtures.GgufMetadata assumes.
    /// </summary>
    private static byte[] SentencePieceModel(Dictionary<string, int> vocab, string[] merges, Dictionary<string, int> added, int? bos)
    {
        var pieces = new string[vocab.Count];
        foreach (var (t, id) in vocab) pieces[id] = t;
        var scores = new float[pieces.Length];
        Array.Fill(scores, -(merges.Length + 1));
        for (int rank = merges.Length - 1; rank >= 0; rank--) scores[vocab[merges[rank].Replace(" ", "")]] = -rank;

        var model = new ProtoWriter();
        for (int id = 0; id < pieces.Length; id++)
        {
            int type = pieces[id] == "<unk>" ? 2 : added.ContainsKey(pieces[id]) ? 3 : pieces[id] is ['<', '0', 'x', _, _, '>'] ? 6 : 1;
            var piece = new ProtoWriter();
            piece.String(1, pieces[id]);
            piece.Float(2, scores[id]);
            piece.Varint(3, type);
            model.Message(1, piece);
        }
        var trainer = new ProtoWriter();
        trainer.Varint(3, 2); // model_type: BPE
        trainer.Varint(35, 1); // byte_fallback
        trainer.Varint(40, vocab["<unk>"]);
        trainer.Varint(41, bos ?? -1);
        trainer.Varint(42, added.TryGetValue("</s>", out int eos) ? eos : -1);
        model.Message(2, trainer);
        var normalizer = new ProtoWriter();
        normalizer.String(1, "identity");
        normalizer.Varint(3, 1); // add_dummy_prefix
        normalizer.Varint(4, 0); // remove_extra_whitespaces: off, as the tokenizer.json normalizer keeps runs of spaces
        normalizer.Varint(5, 1); // escape_whitespaces
        model.Message(3, normalizer);
        return model.ToArray();
    }

    /// <summary>The protobuf wire format, only as much as a SentencePiece model needs.</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _out = new();

        public byte[] ToArray() => _out.ToArray();

        public void Varint(int field, long value) { Raw((ulong)field << 3); Raw((ulong)value); }

        public void Float(int field, float value)
        {
            Raw((ulong)field << 3 | 5);
            _out.Write(BitConverter.GetBytes(value));
        }

        public void String(int field, string value) => Bytes(field, System.Text.Encoding.UTF8.GetBytes(value));

        public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

        private void Bytes(int field, byte[] bytes)
        {
            Raw((ulong)field << 3 | 2);
            Raw((ulong)bytes.Length);
            _out.Write(bytes);
        }

        private void Raw(ulong v)
        {
            for (; v >= 0x80; v >>= 7) _out.WriteByte((byte)(v | 0x80));
            _out.WriteByte((byte)v);
        }
    }
}
