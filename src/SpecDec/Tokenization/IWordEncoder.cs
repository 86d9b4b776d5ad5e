namespace SpecDec.Tokenization;

/// <summary>The model step of a tokenizer: one pre-token (a "word") → its token ids.</summary>
internal interface IWordEncoder
{
    /// <summary>Appends the ids of <paramref name="word"/> to <paramref name="output"/>.</summary>
    void Encode(ReadOnlySpan<char> word, List<int> output);
}
