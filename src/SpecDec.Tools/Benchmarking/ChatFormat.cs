using System.Text;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// The chat format of the demo models and the task set: each turn is <c>&lt;|user|&gt;\n…\n&lt;|assistant|&gt;\n…</c>,
/// an answer is followed by a newline, and a prompt ends with <c>&lt;|assistant|&gt;\n</c>. This is exactly how the
/// items' ready-made <c>prompt</c> is written for their first turn.
/// </summary>
public static class ChatFormat
{
    public const string User = "<|user|>";
    public const string Assistant = "<|assistant|>";
    public const string EndOfText = "<|endoftext|>";

    /// <summary>
    /// The prompt for user turn <paramref name="turn"/> (0-based): every earlier turn with its answer, then
    /// this turn and the assistant tag.
    /// </summary>
    public static string Prompt(IReadOnlyList<string> turns, IReadOnlyList<string> answers, int turn)
    {
        if ((uint)turn >= (uint)turns.Count) throw new ArgumentOutOfRangeException(nameof(turn), $"turn {turn} of {turns.Count}");
        if (answers.Count < turn) throw new ArgumentException($"turn {turn} needs {turn} earlier answers, got {answers.Count}", nameof(answers));
        var sb = new StringBuilder();
        for (int i = 0; i <= turn; i++)
        {
            sb.Append(User).Append('\n').Append(turns[i]).Append('\n').Append(Assistant).Append('\n');
            if (i < turn) sb.Append(answers[i]).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// The answer to feed back from a turn's output decoded with its special tokens: the text before the
    /// model's first chat tag, without surrounding whitespace, as Spec-Bench strips its answers. Models whose
    /// chat template has these tags as control tokens stop before them (the generation loop ends a chat
    /// answer at the template's turn markers); a model that reads them as plain text may write them.
    /// </summary>
    public static string Answer(string decodedWithSpecials)
    {
        int end = decodedWithSpecials.Length;
        foreach (string tag in (ReadOnlySpan<string>)[User, Assistant, EndOfText])
        {
            int at = decodedWithSpecials.IndexOf(tag, StringComparison.Ordinal);
            if (at >= 0 && at < end) end = at;
        }
        return decodedWithSpecials[..end].Trim();
    }
}
