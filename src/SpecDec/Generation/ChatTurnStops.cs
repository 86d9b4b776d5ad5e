using SpecDec.Tokenization;

namespace SpecDec.Generation;

/// <summary>
/// The token ids that end a request: the tokenizer's stop ids, plus, for a prompt written in the model's chat
/// format, the chat template's turn markers. Some templates close an answer with no end-of-turn token of their
/// own (the demo models write <c>&lt;|user|&gt;\n</c> after an answer, GLM-4 likewise; llama.cpp's converter
/// makes GLM-4's <c>&lt;|user|&gt;</c> its end-of-turn token for that reason), so without this a model answers
/// and then invents the next user turn. A turn marker is a control token that the template writes literally
/// and that the prompt contains: that the prompt holds it is what shows the prompt was built from the
/// template, so a plain text continuation keeps the tokenizer's stop ids only. Markers that only some
/// conversations use (a tool-call tag in Llama 3.1's template) end an answer only where the prompt has them.
/// </summary>
internal static class ChatTurnStops
{
    public static IReadOnlySet<int> For(ITokenizer tokenizer, ReadOnlySpan<int> prompt)
    {
        if (tokenizer.ChatTemplate is not string template) return tokenizer.StopIds;
        HashSet<int>? stops = null;
        foreach (int id in prompt)
        {
            if (tokenizer.StopIds.Contains(id) || stops?.Contains(id) == true || !tokenizer.IsSpecial(id)) continue;
            if (template.Contains(tokenizer.TokenText(id), StringComparison.Ordinal))
                (stops ??= new HashSet<int>(tokenizer.StopIds)).Add(id);
        }
        return stops ?? tokenizer.StopIds;
    }
}
