using SpecDec.Tokenization;

namespace SpecDec.Tools.Synthetic;

/// <summary>
/// A byte-level BPE vocabulary (GPT-2 style, as llama.cpp's tokenizer.ggml.model = "gpt2") of an exact size:
/// the 256 byte tokens, then letter sequences (with and without a leading space) grown one letter per merge
/// (every merge's parts exist before it, so the merge list is valid BPE), then the shape's special tokens, reserved control tokens and
/// padding up to the embedding's row count. Text tokenizes to something meaningless but well-formed.
/// </summary>
public sealed class SyntheticVocabulary
{
    public required string[] Tokens { get; init; }

    /// <summary><see cref="TokenType"/> codes, as GGUF stores them.</summary>
    public required int[] TokenTypes { get; init; }
    public required string[] Merges { get; init; }

    public static SyntheticVocabulary Build(ModelShape shape)
    {
        int size = shape.Config.VocabSize;
        var tokens = new string[size];
        var types = new int[size];
        var merges = new List<string>();
        var seen = new HashSet<string>();

        string[] byteChars = [.. ByteLevelAlphabet.ByteToChar.Select(c => c.ToString())];
        for (int b = 0; b < 256; b++)
        {
            tokens[b] = byteChars[b];
            types[b] = (int)TokenType.Normal;
            seen.Add(byteChars[b]);
        }
        // Grow words breadth-first: 'Ġ' (the byte-level space) and the letters, then each new token, get every
        // letter appended, so "Ġt", "th", "Ġth", "the", "Ġthe" … exist and real text uses the merges.
        string[] letters = Enumerable.Range('a', 26).Select(c => ((char)c).ToString()).ToArray();
        var parents = new Queue<string>(letters.Prepend(byteChars[' ']));
        int next = 256;
        while (next < shape.FirstSpecialId && parents.TryDequeue(out string? p))
        {
            foreach (string c in letters)
            {
                if (next >= shape.FirstSpecialId) break;
                string merged = p + c;
                if (!seen.Add(merged)) continue;
                tokens[next] = merged;
                types[next] = (int)TokenType.Normal;
                merges.Add($"{p} {c}");
                parents.Enqueue(merged);
                next++;
            }
        }
        for (int id = shape.FirstSpecialId; id < size; id++)
        {
            if (shape.SpecialTokens.TryGetValue(id, out string? special))
            {
                tokens[id] = special;
                types[id] = (int)TokenType.Control;
            }
            else if (shape.Config.Architecture == "llama")
            {
                tokens[id] = $"<|reserved_special_token_{id - shape.FirstSpecialId}|>";
                types[id] = (int)TokenType.Control;
            }
            else
            {
                tokens[id] = $"[PAD{id}]";
                types[id] = (int)TokenType.Unused;
            }
        }
        return new SyntheticVocabulary { Tokens = tokens, TokenTypes = types, Merges = merges.ToArray() };
    }
}
