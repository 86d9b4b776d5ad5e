using System.CommandLine;
using System.Text;
using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Generation;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec generate`: streams the continuation of a prompt to stdout and one stats line to stderr, with
/// speculation (a draft model or prompt lookup) switched on by options.
/// </summary>
public static class GenerateCommand
{

    public static Command Create()
    {
        var defaults = new GenerationOptions();
        var sampling = defaults.Sampling;
        var speculation = defaults.Speculation;

        var model = new Option<string?>("--model") { Description = $"Target model: a GGUF file or a Hugging Face folder (default: {BundledFiles.Target})" };
        var prompt = new Option<string?>("--prompt") { Description = "The text to continue" };
        var promptFile = new Option<FileInfo?>("--prompt-file") { Description = "Read the text to continue from this UTF-8 file" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most new tokens", DefaultValueFactory = _ => defaults.MaxTokens ?? 256 };
        var temperature = new Option<float>("--temperature") { Description = "0 is greedy", DefaultValueFactory = _ => sampling.Temperature };
        var topK = new Option<int>("--top-k") { Description = "Keep the K most likely tokens; 0 = off", DefaultValueFactory = _ => sampling.TopK };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling; 1 = off", DefaultValueFactory = _ => sampling.TopP };
        var minP = new Option<float>("--min-p") { Description = "Drop tokens below P × the top probability; 0 = off", DefaultValueFactory = _ => sampling.MinP };
        var repeatPenalty = new Option<float>("--repeat-penalty") { Description = "Penalty on the last 64 tokens; 1 = off", DefaultValueFactory = _ => sampling.RepetitionPenalty };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of the sampler (default: random)" };
        var threads = ThreadsOption.Create();
        var cacheType = CacheTypeOption.Create();
        var maxMemory = MaxMemoryOption.Create();
        var device = new DeviceOption();
        var methods = SpeculationMethods.All;
        var spec = new Option<string>("--spec")
        {
            Description = "Speculation: " + string.Join("; ", methods.Select(m => $"{m.Name} ({m.Description})")),
            DefaultValueFactory = _ => SpeculationMethods.None,
        };
        // A validator rather than AcceptOnlyFromAmong, whose message does not name the option.
        spec.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (!methods.Any(m => m.Name == value))
                result.AddError($"--spec must be {string.Join(", ", methods.Select(m => m.Name))}, not '{value}'");
        });
        var draftModel = new Option<string?>("--draft-model") { Description = $"Draft model for --spec draft (default: {BundledFiles.Draft})" };
        var draftMax = new Option<int?>("--draft-max") { Description = "Most draft tokens per round (default: 8 for draft, 4 for pld)" };
        var draftMin = new Option<int?>("--draft-min") { Description = "Least draft length the adaptation may choose; = --draft-max fixes the length (default: 1 for draft, 4 for pld)" };
        var draftPMin = new Option<float>("--draft-p-min") { Description = "Stop drafting below this draft confidence; 0 = off", DefaultValueFactory = _ => speculation.DraftPMin };
        var draftContext = new Option<int>("--draft-context") { Description = "The draft model reads the first 4 and the latest N context tokens; 0 = all", DefaultValueFactory = _ => speculation.DraftContext };
        var ngramMin = new Option<int>("--ngram-min") { Description = "Shortest n-gram prompt lookup matches", DefaultValueFactory = _ => speculation.NgramMin };
        var ngramMax = new Option<int>("--ngram-max") { Description = "Longest n-gram prompt lookup matches", DefaultValueFactory = _ => speculation.NgramMax };
        var draftTree = new Option<bool>("--draft-tree") { Description = "Draft a tree where the method can (pld: a branch per distinct continuation of its matches), --draft-max deep" };
        var treeNodes = new Option<int?>("--tree-nodes") { Description = $"Nodes of a draft tree (the target verifies one row more; default: {speculation.TreeNodes} for pld, chosen for this machine for eagle and medusa)" };
        var treeDepth = new Option<int?>("--tree-depth") { Description = "Depth of an eagle or medusa tree (default: chosen for this machine from the measured verification cost)" };
        var treeTopK = new Option<int?>("--tree-topk") { Description = $"Candidates per node of an eagle or medusa tree, 1..{SpeculationOptions.MaxTreeTopK} (default: chosen for this machine)" };
        var head = new Option<string?>("--head") { Description = $"EAGLE head for --spec eagle: a GGUF or a folder in the EAGLE layout (default: {BundledFiles.EagleHead})" };
        var medusaHeads = new Option<string?>("--heads") { Description = $"Medusa heads for --spec medusa: a GGUF or a folder in the Medusa layout (default: {BundledFiles.MedusaHeads})" };
        var lookaheadWindow = new Option<int>("--lookahead-window") { Description = "Lookahead: columns W of the Jacobi window", DefaultValueFactory = _ => speculation.LookaheadWindow };
        var lookaheadNgram = new Option<int>("--lookahead-ngram") { Description = "Lookahead: n-gram size N (the window has N − 1 levels, guesses are N − 1 deep)", DefaultValueFactory = _ => speculation.LookaheadNgram };
        var lookaheadGuesses = new Option<int>("--lookahead-guesses") { Description = "Lookahead: most pooled n-grams verified per round (G)", DefaultValueFactory = _ => speculation.LookaheadGuesses };
        var datastore = new Option<string?>("--datastore") { Description = $"Datastore for --spec rest and auto (`specdec datastore build`; default: {BundledFiles.Datastore} with the bundled target)" };
        var datastoreSave = new Option<string?>("--datastore-save") { Description = "With --spec rest: write what this run's answers taught the in-process store as a datastore file (load it with --datastore)" };
        var exitLayer = new Option<int>("--exit-layer") { Description = "Layer skipping: draft through the first L blocks (a model trained for early exit); 0 chooses online", DefaultValueFactory = _ => speculation.ExitLayer };
        var typical = new Option<bool>("--typical-acceptance") { Description = "LOSSY, opt-in: when sampling, a draft token stands if the target gives it more than min(0.09, 0.3·exp(−entropy)) (Medusa's typical acceptance); the output no longer follows the model's distribution. Greedy decoding is unaffected" };
        var stop = new Option<string[]>("--stop") { Description = "Stop before this text (repeatable)" };
        var stats = new Option<bool>("--stats") { Description = "Print every statistic, with the acceptance at each draft position" };
        var noWarmUp = new Option<bool>("--no-warmup") { Description = "Skip the warm-up run that compiles the kernels before the prompt (its time then counts in the first prefill and decode)" };

        var command = new Command("generate", "Continue a prompt, optionally with speculative decoding");
        foreach (Option option in new Option[] { model, prompt, promptFile, maxTokens, temperature, topK, topP, minP, repeatPenalty, seed, threads, cacheType, maxMemory, spec, draftModel, draftMax, draftMin, draftPMin, draftContext, ngramMin, ngramMax, draftTree, treeNodes, treeDepth, treeTopK, head, medusaHeads, lookaheadWindow, lookaheadNgram, lookaheadGuesses, datastore, datastoreSave, exitLayer, typical, stop, stats, noWarmUp })
            command.Options.Add(option);
        foreach (Option option in device.Options) command.Options.Add(option);

        command.SetAction(parse =>
        {
            var method = SpeculationMethods.Get(parse.GetValue(spec)!);
            var speculationOptions = SpeculationOptions.For(method.Name, parse.GetValue(draftMax), parse.GetValue(draftMin)) with
            {
                DraftPMin = parse.GetValue(draftPMin),
                DraftContext = parse.GetValue(draftContext),
                NgramMin = parse.GetValue(ngramMin),
                NgramMax = parse.GetValue(ngramMax),
                // eagle and medusa always draft trees, rest and auto by default
                Tree = parse.GetValue(draftTree) || method.Defaults.SizeTree || method.Defaults.Tree,
                TreeNodes = method.Defaults.SizeTree || method.Defaults.Tree ? method.Defaults.TreeNodes : speculation.TreeNodes,
                ExitLayer = parse.GetValue(exitLayer),
                Typical = parse.GetValue(typical) ? TypicalAcceptance.Medusa : default,
            };
            speculationOptions = TreeOptions.Apply(speculationOptions, parse.GetValue(treeNodes), parse.GetValue(treeDepth), parse.GetValue(treeTopK));
            if (method.Name is SpeculationMethods.Retrieval or SpeculationMethods.Auto)
                speculationOptions = speculationOptions with
                {
                    // The bundled store holds the bundled target's token ids: the default only with that model.
                    Datastore = parse.GetValue(datastore) ?? (parse.GetValue(model) is null ? BundledFiles.Find(BundledFiles.Datastore) : null),
                };
            else if (parse.GetValue(datastore) is not null || parse.GetValue(datastoreSave) is not null)
                throw new SpecDecException("--datastore and --datastore-save are for --spec rest and auto");
            // Lookahead's depth and tree budget follow from its own three settings.
            if (method.Name == SpeculationMethods.Lookahead)
                speculationOptions = speculationOptions.WithLookahead(parse.GetValue(lookaheadWindow), parse.GetValue(lookaheadNgram), parse.GetValue(lookaheadGuesses));
            var options = new GenerationOptions
            {
                MaxTokens = parse.GetValue(maxTokens),
                MaxMemoryBytes = MaxMemoryOption.Parse(parse.GetValue(maxMemory)),
                StopStrings = parse.GetValue(stop) ?? [],
                Sampling = sampling with
                {
                    Temperature = parse.GetValue(temperature),
                    TopK = parse.GetValue(topK),
                    TopP = parse.GetValue(topP),
                    MinP = parse.GetValue(minP),
                    RepetitionPenalty = parse.GetValue(repeatPenalty),
                    Seed = parse.GetValue(seed),
                },
                Speculation = speculationOptions,
            };
            options.Validate();
            string text = ReadPrompt(parse.GetValue(prompt), parse.GetValue(promptFile));
            int threadCount = ThreadsOption.Resolve(parse, threads);

            var gpu = device.Open(parse);
            using var pool = new WorkerPool(gpu is null ? threadCount : 1); // shared: target and draft take turns on the cores
            KvCacheType cache = CacheTypeOption.Parse(parse.GetValue(cacheType));
            using var target = Load(parse.GetValue(model) ?? BundledFiles.Require(BundledFiles.Target, "--model"), gpu, pool, cache);
            using var draft = method.NeedsDraftModel
                ? Load(parse.GetValue(draftModel) ?? BundledFiles.Require(BundledFiles.Draft, "--draft-model"), gpu, pool, cache)
                : null;
            using var heads = HeadLoading.Load([method.Name], parse.GetValue(head), parse.GetValue(medusaHeads), target, threadCount);
            var generator = new Generator(target, draft, heads.Heads);
            if (!parse.GetValue(noWarmUp)) generator.WarmUp(options);

            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var result = generator.Generate(text, options, piece =>
            {
                stdout.Write(piece);
                stdout.Flush();
            });
            // stdout carries only the continuation; the line break that separates the stats goes to stderr.
            if (!result.Text.EndsWith('\n')) stderr.WriteLine();
            if (parse.GetValue(stats))
            {
                stderr.Write(result.Stats.ToTable());
                stderr.WriteLine($"{"kernels",-22}{KernelPaths.Name(KernelPaths.Best)} ({Simd.Best})");
                if (heads.EagleRunsOn is string on) stderr.WriteLine($"{"eagle head on",-22}{on}");
            }
            else stderr.WriteLine(result.Stats.ToString());
            if (parse.GetValue(datastoreSave) is string save)
            {
                var rest = generator.ProposerFor(method.Name) switch
                {
                    RestProposer r => r,
                    AutoProposer a => a.Retrieval,
                    _ => throw new SpecDecException("--datastore-save needs --spec rest or auto"),
                };
                OutputFile.Write(save, rest.SaveLearned);
                stderr.WriteLine($"wrote {save}: {rest.LearnedTokens} learned tokens");
            }
            return 0;
        });
        return command;
    }

    internal static string ReadPrompt(string? prompt, FileInfo? file)
    {
        if ((prompt is null) == (file is null)) throw new SpecDecException("give exactly one of --prompt and --prompt-file");
        return prompt ?? File.ReadAllText(InputFile.Require(file!.ToString(), "--prompt-file", "a UTF-8 text file"), Encoding.UTF8);
    }

    internal static Transformer Load(string path, WorkerPool pool, KvCacheType cache)
    {
        Transformer model = Transformer.Load(ModelSource.Open(path), pool);
        model.CacheType = cache;
        return model;
    }

    private static ILanguageModel Load(string path, Backends.Cuda.CudaDevice? gpu, WorkerPool pool, KvCacheType cache) =>
        DeviceOption.Load(ModelSource.Open(path), gpu, cache, pool);
}
