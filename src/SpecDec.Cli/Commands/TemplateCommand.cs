using System.CommandLine;
using System.Text;
using System.Text.Json;
using SpecDec.Chat;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Templates;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec template render`: prints exactly the prompt a chat template makes of a conversation, for users
/// debugging a template (the model's own, or a file).
/// </summary>
public static class TemplateCommand
{
    public static Command Create()
    {
        var template = new Option<string?>("--template") { Description = "A Jinja chat template file" };
        var model = new Option<string?>("--model") { Description = "Use this model's own chat template (GGUF tokenizer.chat_template, or chat_template in tokenizer_config.json), BOS and EOS" };
        var messages = new Option<string>("--messages") { Description = "JSON file: an array of messages ({\"role\", \"content\", …}), or an object with \"messages\" and any other template variables (tools, …)", Required = true };
        var generationPrompt = new Option<bool>("--add-generation-prompt") { Description = "End with the start of the assistant's turn" };
        var bos = new Option<string?>("--bos-token") { Description = "bos_token (default: the model's, none with --template)" };
        var eos = new Option<string?>("--eos-token") { Description = "eos_token (default: the model's, none with --template)" };

        var render = new Command("render", "Print the prompt a chat template renders from a conversation, exactly");
        foreach (Option option in new Option[] { template, model, messages, generationPrompt, bos, eos }) render.Options.Add(option);
        render.SetAction(parse =>
        {
            string? templatePath = parse.GetValue(template), modelPath = parse.GetValue(model);
            if ((templatePath is null) == (modelPath is null)) throw new SpecDecException("give exactly one of --template and --model");
            ChatPrompt prompt;
            if (templatePath is not null)
            {
                string source = File.ReadAllText(InputFile.Require(templatePath, "--template", "a Jinja template file"), Encoding.UTF8);
                prompt = Parse(() => new ChatPrompt(source, parse.GetValue(bos), parse.GetValue(eos)), templatePath);
            }
            else
            {
                using var source = ModelSource.Open(modelPath!);
                var tokenizer = source.Tokenizer;
                var own = Parse(() => ChatPrompt.For(tokenizer), modelPath!) ?? throw new SpecDecException($"{modelPath} has no chat template");
                prompt = Parse(() => new ChatPrompt(tokenizer.ChatTemplate!, parse.GetValue(bos) ?? own.BosToken, parse.GetValue(eos) ?? own.EosToken), modelPath!);
            }
            var (conversation, extra) = ReadMessages(parse.GetValue(messages)!);
            string text;
            try
            {
                text = prompt.Render(conversation, parse.GetValue(generationPrompt), extra);
            }
            catch (TemplateException e)
            {
                throw new SpecDecException($"the template refused the messages: {e.Message}");
            }
            var stdout = parse.InvocationConfiguration.Output;
            stdout.Write(text);
            stdout.Flush();
            return 0;
        });
        var command = new Command("template", "Chat templates");
        command.Subcommands.Add(render);
        return command;
    }

    private static T Parse<T>(Func<T> make, string where)
    {
        try
        {
            return make();
        }
        catch (TemplateException e)
        {
            throw new SpecDecException($"{where}: the chat template cannot be parsed: {e.Message}");
        }
    }

    /// <summary>The messages file: an array of messages, or an object with "messages" and other variables.</summary>
    private static (IReadOnlyList<object?> Messages, Dictionary<string, object?> Extra) ReadMessages(string path)
    {
        var bytes = File.ReadAllBytes(InputFile.Require(path, "--messages", "a JSON file of messages"));
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(bytes).RootElement;
        }
        catch (JsonException e)
        {
            throw new SpecDecException($"{path}: not valid JSON: {e.Message}");
        }
        var extra = new Dictionary<string, object?>();
        JsonElement list = root;
        if (root.ValueKind == JsonValueKind.Object)
        {
            if (!root.TryGetProperty("messages", out list)) throw new SpecDecException($"{path}: an object needs a \"messages\" array");
            foreach (var p in root.EnumerateObject()) if (p.Name != "messages") extra[p.Name] = p.Value;
        }
        if (list.ValueKind != JsonValueKind.Array) throw new SpecDecException($"{path}: messages must be a JSON array");
        int i = 0;
        foreach (var m in list.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                throw new SpecDecException($"{path}: messages[{i}] must be an object with a string \"role\"");
            i++;
        }
        return (list.EnumerateArray().Select(m => (object?)m).ToList(), extra);
    }
}
