using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.AI;
using SpecDec.Chat;
using SpecDec.Kernels;
using SpecDec.Speculation;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec chat`: an interactive conversation in the terminal through <see cref="SpecDecChatClient"/> (the model's
/// own chat template), each answer streamed as it is generated. /reset starts over, /stats shows the last
/// answer's speculation statistics, /exit (or end of input) quits.
/// </summary>
public static class ChatCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = $"Target model (default: {BundledFiles.Target})" };
        var draftModel = new Option<string?>("--draft-model") { Description = $"Draft model for --spec draft (default: {BundledFiles.Draft})" };
        var spec = new Option<string>("--spec") { Description = "Speculation method", DefaultValueFactory = _ => SpeculationMethods.None };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most new tokens per answer", DefaultValueFactory = _ => 512 };
        var temperature = new Option<float>("--temperature") { Description = "0 is greedy", DefaultValueFactory = _ => 0.8f };
        var seed = new Option<long?>("--seed") { Description = "Seed of the sampler (default: random)" };
        var system = new Option<string?>("--system") { Description = "A system message to start the conversation with" };
        var threads = ThreadsOption.Create();
        var cacheType = CacheTypeOption.Create();

        var command = new Command("chat", "Chat with the model in the terminal (streaming; /reset, /stats, /exit)");
        foreach (Option option in new Option[] { model, draftModel, spec, maxTokens, temperature, seed, system, threads, cacheType }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var method = SpeculationMethods.Get(parse.GetValue(spec)!);
            using var pool = new WorkerPool(ThreadsOption.Resolve(parse, threads));
            var cache = CacheTypeOption.Parse(parse.GetValue(cacheType));
            using var target = GenerateCommand.Load(parse.GetValue(model) ?? BundledFiles.Require(BundledFiles.Target, "--model"), pool, cache);
            using var draft = method.NeedsDraftModel
                ? GenerateCommand.Load(parse.GetValue(draftModel) ?? BundledFiles.Require(BundledFiles.Draft, "--draft-model"), pool, cache)
                : null;
            using var client = new SpecDecChatClient(target, draft) { Speculation = SpeculationOptions.For(method.Name) };
            var options = new ChatOptions { MaxOutputTokens = parse.GetValue(maxTokens), Temperature = parse.GetValue(temperature), Seed = parse.GetValue(seed) };
            Run(client, options, parse.GetValue(system), Console.In, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            return 0;
        });
        return command;
    }

    /// <summary>The conversation loop: one line of input is one user message.</summary>
    internal static void Run(IChatClient client, ChatOptions options, string? system, TextReader input, TextWriter output, TextWriter error)
    {
        var history = new List<ChatMessage>();
        void Reset()
        {
            history.Clear();
            if (system is not null) history.Add(new ChatMessage(ChatRole.System, system));
        }
        Reset();
        AdditionalPropertiesDictionary? last = null;
        error.WriteLine("specdec chat: /reset starts over, /stats shows the last answer's statistics, /exit quits");
        while (true)
        {
            error.Write("> ");
            string? line = input.ReadLine();
            if (line is null || line.Trim() == "/exit") break;
            switch (line.Trim())
            {
                case "":
                    continue;
                case "/reset":
                    Reset();
                    error.WriteLine("(conversation cleared)");
                    continue;
                case "/stats":
                    error.WriteLine(last is null ? "(no answer yet)" : string.Join(", ", last.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key[(p.Key.IndexOf('.') + 1)..]} {Format(p.Value)}"))));
                    continue;
            }
            history.Add(new ChatMessage(ChatRole.User, line));
            var answer = new System.Text.StringBuilder();
            foreach (var update in client.GetStreamingResponseAsync(history, options).ToBlockingEnumerable())
            {
                output.Write(update.Text);
                output.Flush();
                answer.Append(update.Text);
                if (update.AdditionalProperties is { } stats) last = stats;
            }
            output.WriteLine();
            history.Add(new ChatMessage(ChatRole.Assistant, answer.ToString()));
        }
    }

    private static string Format(object? value) => value switch
    {
        double d => d.ToString("F3", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
