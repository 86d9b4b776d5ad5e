using SpecDec.Templates;
using SpecDec.Tokenization;

namespace SpecDec.Chat;

/// <summary>
/// A model's chat template (GGUF <c>tokenizer.chat_template</c> or <c>chat_template</c> in tokenizer_config.json)
/// parsed once, turning a conversation into the prompt the model was trained on, as transformers'
/// <c>apply_chat_template</c> does: the template gets <c>messages</c>, <c>add_generation_prompt</c>,
/// <c>bos_token</c> and <c>eos_token</c>, and the rendered text is tokenized with its special tokens recognised
/// and nothing added (the template writes BOS itself when the model wants one).
/// </summary>
public sealed class ChatPrompt
{
    private readonly Template _template;
    private readonly ITokenizer? _tokenizer;

    /// <summary>Throws a <see cref="TemplateException"/> when the template cannot be parsed.</summary>
    public ChatPrompt(string template, string? bosToken, string? eosToken, ITokenizer? tokenizer = null)
    {
        _template = Template.Parse(template);
        BosToken = bosToken;
        EosToken = eosToken;
        _tokenizer = tokenizer;
    }

    /// <summary>The prompt of a model's own template; null when its files have none.</summary>
    public static ChatPrompt? For(ITokenizer tokenizer)
    {
        if (tokenizer.ChatTemplate is not string template) return null;
        string? Text(int? id) => id is int i ? tokenizer.TokenText(i) : null;
        return new ChatPrompt(template, Text(tokenizer.BosId), Text(tokenizer.EosId), tokenizer);
    }

    public string? BosToken { get; }
    public string? EosToken { get; }

    /// <summary>The clock of <c>strftime_now</c>.</summary>
    public Func<DateTimeOffset> Now { get; init; } = () => DateTimeOffset.Now;

    /// <summary>
    /// The conversation as text; throws a <see cref="TemplateException"/> when the template refuses it (e.g. a
    /// role it does not allow) or fails. <paramref name="extra"/> adds variables (tools, enable_thinking, …).
    /// </summary>
    public string Render(IReadOnlyList<ChatTurn> messages, bool addGenerationPrompt = true, IReadOnlyDictionary<string, object?>? extra = null) =>
        Render(messages.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }).ToList(), addGenerationPrompt, extra);

    /// <summary>Renders messages given as template values (dictionaries, or JSON elements with tool calls and the like).</summary>
    public string Render(IReadOnlyList<object?> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? extra)
    {
        var variables = new Dictionary<string, object?>
        {
            ["messages"] = messages,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        // Like transformers' special_tokens_map: a token the model has is a variable; one it lacks is undefined.
        if (BosToken is not null) variables["bos_token"] = BosToken;
        if (EosToken is not null) variables["eos_token"] = EosToken;
        if (extra is not null) foreach (var (k, v) in extra) variables[k] = v;
        return _template.Render(variables, Now);
    }

    /// <summary>The conversation as token ids, ready to generate the assistant's answer.</summary>
    public int[] Encode(IReadOnlyList<ChatTurn> messages)
    {
        var tokenizer = _tokenizer ?? throw new InvalidOperationException("this ChatPrompt was made without a tokenizer");
        return tokenizer.Encode(Render(messages), addSpecial: false, parseSpecial: true);
    }
}
