namespace SpecDec.Tokenization;

/// <summary>
/// Control tokens that end a turn by their text, for files that mark no end-of-turn id (the list llama.cpp
/// uses for its end-of-generation set).
/// </summary>
internal static class EndOfTurnTokens
{
    private static readonly HashSet<string> Texts =
    [
        "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>",
        "<|end_of_text|>", "<end_of_utterance>",
    ];

    /// <summary>The ids of control tokens whose text is one of the known end-of-turn markers.</summary>
    public static IEnumerable<int> In(string[] tokens, TokenType[] types)
    {
        for (int id = 0; id < tokens.Length; id++)
            if (types[id] == TokenType.Control && Texts.Contains(tokens[id])) yield return id;
    }
}
