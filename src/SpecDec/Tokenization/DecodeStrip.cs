namespace SpecDec.Tokenization;

/// <summary>How decoding undoes the space a SentencePiece tokenizer put before the text.</summary>
internal enum DecodeStrip
{
    None,

    /// <summary>Strip decoder (start 1) after Fuse: one leading space of the decoded text goes.</summary>
    LeadingSpace,

    /// <summary>Metaspace decoder: in the first token every ▁ is dropped instead of becoming a space.</summary>
    MetaspaceFirstToken,
}
