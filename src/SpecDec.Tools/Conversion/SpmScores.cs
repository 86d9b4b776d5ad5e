namespace SpecDec.Tools.Conversion;

/// <summary>
/// `tokenizer.ggml.scores` for a SentencePiece-style ("llama") vocabulary built from BPE merges. llama.cpp
/// merges the adjacent pair whose joined token scores highest, so a token made by the merge of rank r
/// scores −r: the same priority as the merge list. Tokens no merge makes (characters, bytes, specials)
/// score below every merge.
/// </summary>
internal static class SpmScores
{
    public static float[] FromMerges(IReadOnlyList<string> tokens, IReadOnlyList<(string Left, string Right)> merges)
    {
        var ids = new Dictionary<string, int>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++) ids.TryAdd(tokens[i], i);
        var scores = new float[tokens.Count];
        Array.Fill(scores, -merges.Count);
        for (int rank = merges.Count - 1; rank >= 0; rank--) // earliest rank wins when merges make the same token
        {
            if (ids.TryGetValue(merges[rank].Left + merges[rank].Right, out int id)) scores[id] = -rank;
        }
        return scores;
    }
}
