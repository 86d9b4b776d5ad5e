using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using SpecDec.Kernels;
using SpecDec.Server;
using SpecDec.Speculation;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec serve`: the OpenAI-compatible server over one loaded model (the bundled pair when no --model is
/// given). It listens first, answering /health with 503 while the model loads and warms up, then serves until
/// Ctrl-C or SIGTERM.
/// </summary>
public static class ServeCommand
{
    public const string ApiKeyVariable = "SPECDEC_API_KEY";

    public static Command Create()
    {
        var defaults = new ServerOptions();
        var model = new Option<string?>("--model") { Description = $"Target model: a GGUF file or a Hugging Face folder (default: {BundledFiles.Target}, with the bundled draft)" };
        var draftModel = new Option<string?>("--draft-model") { Description = $"Draft model, which makes --spec draft available to requests (default with the bundled target: {BundledFiles.Draft})" };
        var spec = new Option<string>("--spec") { Description = "Speculation method of requests that name none (their \"spec\" field)", DefaultValueFactory = _ => SpeculationMethods.None };
        var host = new Option<string>("--host") { Description = "Address to listen on (loopback by default; 0.0.0.0 opens it to the network)", DefaultValueFactory = _ => defaults.Host };
        var port = new Option<int>("--port") { Description = "TCP port", DefaultValueFactory = _ => defaults.Port };
        var apiKey = new Option<string?>("--api-key") { Description = $"Require Authorization: Bearer KEY on /v1 (or set {ApiKeyVariable}, which keeps the key out of the process list)" };
        var maxTokensCap = new Option<int>("--max-tokens-cap") { Description = "Most new tokens a request may ask for", DefaultValueFactory = _ => defaults.MaxTokensCap };
        var parallel = new Option<int>("--parallel") { Description = "Requests generating at once (each with its own KV cache; their rounds are verified together in one forward)", DefaultValueFactory = _ => defaults.Parallel };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait for a slot; more are refused with 429", DefaultValueFactory = _ => defaults.QueueLimit };
        var timeout = new Option<int>("--timeout") { Description = "Seconds a request may wait and generate in all", DefaultValueFactory = _ => (int)defaults.RequestTimeout.TotalSeconds };
        var threads = ThreadsOption.Create();
        var cacheType = CacheTypeOption.Create();
        var noWarmUp = new Option<bool>("--no-warmup") { Description = "Skip compiling the kernels before the first request" };
        var streamInterval = new Option<int>("--stream-interval") { Description = "Least milliseconds between two text events of a stream; rounds that finish sooner go out together (0: every round at once)", DefaultValueFactory = _ => (int)defaults.StreamInterval.TotalMilliseconds };
        var noBatching = new Option<bool>("--no-batching") { Description = "Run the generating requests' rounds one after another instead of in one forward (the same tokens; to measure what batching gains)" };

        var command = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API, with a playground at /");
        foreach (Option option in new Option[] { model, draftModel, spec, host, port, apiKey, maxTokensCap, parallel, queue, timeout, threads, cacheType, noWarmUp, streamInterval, noBatching })
            command.Options.Add(option);

        command.SetAction(parse =>
        {
            var method = SpeculationMethods.Get(parse.GetValue(spec)!);
            var options = new ServerOptions
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                ApiKey = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable),
                MaxTokensCap = parse.GetValue(maxTokensCap),
                Parallel = parse.GetValue(parallel),
                QueueLimit = parse.GetValue(queue),
                RequestTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                Batch = !parse.GetValue(noBatching),
                StreamInterval = TimeSpan.FromMilliseconds(parse.GetValue(streamInterval)),
            };
            options.Validate();
            if (!System.Net.IPAddress.TryParse(options.Host == "localhost" ? "127.0.0.1" : options.Host, out _))
                throw new SpecDecException($"--host must be an IP address (got '{options.Host}')");
            string? modelPath = parse.GetValue(model);
            string? draftPath = parse.GetValue(draftModel)
                ?? (modelPath is null || method.NeedsDraftModel ? BundledFiles.Require(BundledFiles.Draft, "--draft-model") : null);
            modelPath ??= BundledFiles.Require(BundledFiles.Target, "--model");
            int threadCount = ThreadsOption.Resolve(parse, threads);
            var stderr = parse.InvocationConfiguration.Error;

            var modelHost = new ModelHost();
            using var app = SpecDecServer.Build(options, modelHost);
            app.StartAsync().GetAwaiter().GetResult();
            stderr.WriteLine($"specdec serve: listening on {string.Join(", ", app.Urls)}; loading {modelPath}{(draftPath is null ? "" : $" with draft {draftPath}")}");

            using var pool = new WorkerPool(threadCount);
            var cache = CacheTypeOption.Parse(parse.GetValue(cacheType));
            using var target = GenerateCommand.Load(modelPath, pool, cache);
            using var draft = draftPath is null ? null : GenerateCommand.Load(draftPath, pool, cache);
            var served = new ServedModel(Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(modelPath)), target, draft, method.Name, options);
            if (!parse.GetValue(noWarmUp)) served.WarmUp();
            modelHost.Ready(served);
            stderr.WriteLine($"specdec serve: ready: model {served.Id}, methods {string.Join(", ", served.Methods)} (default {served.DefaultMethod}), {options.Parallel} parallel{(options.Batch ? ", batched" : "")}, chat template {(served.Chat is null ? "none" : "yes")}");

            app.WaitForShutdownAsync().GetAwaiter().GetResult();
            return 0;
        });
        return command;
    }
}
