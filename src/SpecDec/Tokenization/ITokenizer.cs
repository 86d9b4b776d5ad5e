namespace SpecDec.Tokenization;

/// <summary>Text ↔ token ids, as the model's own tokenizer files define them.</summary>
public interface ITokenizer
{
    /// <summary>"gpt2-bpe", "llama3-bpe", "spm-bpe", …: the algorithm and pre-tokenizer in use.</summary>
    string Kind { get; }

    /// <summary>Number of ids with a token (may be smaller than the model's logit width).</summary>
    int VocabSize { get; }

    int? BosId { get; }
    int? EosId { get; }

    /// <summary>Ids that end generation (EOS, end-of-turn, generation_config eos list).</summary>
    IReadOnlySet<int> StopIds { get; }

    /// <summary>Whether Encode with addSpecial prepends BOS (tokenizer config / GGUF add_bos_token).</summary>
    bool AddBos { get; }

    /// <summary>Jinja chat template from the model files, if any.</summary>
    string? ChatTemplate { get; }

    /// <param name="addSpecial">Add BOS (and whatever the post-processor adds) as the files say.</param>
    /// <param name="parseSpecial">Recognise special/added token texts inside <paramref name="text"/>.</param>
    int[] Encode(string text, bool addSpecial = true, bool parseSpecial = true);

    string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false);

    /// <summary>The vocabulary entry as stored in the files (e.g. "Ġthe", "▁the", "&lt;0x0A&gt;").</summary>
    string TokenText(int id);

    /// <summary>The raw bytes this token contributes to decoded text (empty for control tokens).</summary>
    ReadOnlySpan<byte> TokenBytes(int id);

    bool IsSpecial(int id);
}
