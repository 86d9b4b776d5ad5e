using SpecDec.Chat;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Server;

/// <summary>
/// The one model a server runs: the target, an optional draft model, the speculation method requests get unless
/// they name one, the chat template, and the scheduler whose generators share the loaded weights.
/// </summary>
public sealed class ServedModel
{
    /// <param name="id">The name /v1/models lists and responses carry (the file name of the target).</param>
    public ServedModel(string id, ILanguageModel target, ILanguageModel? draft, string defaultMethod, ServerOptions options)
    {
        options.Validate();
        Id = id;
        Target = target;
        Draft = draft;
        DefaultMethod = SpeculationMethods.Get(defaultMethod).Name;
        if (SpeculationMethods.Get(DefaultMethod).NeedsDraftModel && draft is null)
            throw new SpecDecException($"--spec {DefaultMethod} needs a draft model (--draft-model)");
        Methods = SpeculationMethods.All.Where(m => (draft is not null || !m.NeedsDraftModel) && m.Head is null).Select(m => m.Name).ToArray();
        if (!Methods.Contains(DefaultMethod)) throw new SpecDecException($"--spec {DefaultMethod} is not served: the server loads no draft heads");
        Chat = ChatPrompt.For(target.Tokenizer);
        Scheduler = new RequestScheduler(target, Enumerable.Range(0, options.Parallel).Select(_ => new Generator(target, draft)).ToArray(), options.QueueLimit, options.Batch);
    }

    public string Id { get; }
    public ILanguageModel Target { get; }
    public ILanguageModel? Draft { get; }
    public string DefaultMethod { get; }

    /// <summary>The model's own chat template; null when its files have none (chat requests are then refused).</summary>
    public ChatPrompt? Chat { get; }

    internal RequestScheduler Scheduler { get; }

    /// <summary>
    /// Methods a request may name: those that need a draft model only when one is loaded, and none that needs
    /// draft heads (EAGLE, Medusa), which the server does not load.
    /// </summary>
    public IReadOnlyList<string> Methods { get; }

    /// <summary>Compiles the kernels before the first request (see <see cref="Generator.WarmUp"/>) with the default method.</summary>
    public void WarmUp() =>
        new Generator(Target, Draft).WarmUp(new GenerationOptions { Sampling = SamplingOptions.Greedy, Speculation = SpeculationOptions.For(DefaultMethod) });
}
