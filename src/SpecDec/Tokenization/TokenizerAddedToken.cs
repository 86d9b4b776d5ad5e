namespace SpecDec.Tokenization;

/// <summary>
/// One entry of tokenizer.json's "added_tokens": a token matched verbatim in the input before BPE runs.
/// <see cref="Special"/> tokens (BOS, EOS, chat markers) are control tokens: skipped by Decode(skipSpecial)
/// and treated as plain text when encoding with parseSpecial false.
/// </summary>
public sealed record TokenizerAddedToken(
    int Id, string Content, bool Special, bool LStrip = false, bool RStrip = false, bool Normalized = false,
    bool SingleWord = false);
