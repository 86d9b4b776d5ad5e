using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SpecDec.Backends.Cpu;
using SpecDec.Kernels;
using SpecDec.Model;
using SpecDec.Server;
using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Server;

/// <summary>The bundled target and tiny draft, loaded once for all server tests (one shared worker pool, as the CLI does).</summary>
public sealed class ServedPair : IDisposable
{
    public ServedPair()
    {
        Pool = new WorkerPool(2);
        Target = Transformer.Load(ModelSource.Open(Path.Combine(RepoPaths.Root, "models/target-q8_0.gguf")), Pool);
        Draft = Transformer.Load(ModelSource.Open(Path.Combine(RepoPaths.Root, "models/draft-tiny-q8_0.gguf")), Pool);
    }

    public WorkerPool Pool { get; }
    public ILanguageModel Target { get; }
    public ILanguageModel Draft { get; }

    /// <summary>A started server over the pair: in process (TestServer) unless <paramref name="socket"/>, then Kestrel on a free loopback port.</summary>
    /// <param name="configure">More changes to the host (e.g. a test's socket options).</param>
    public async Task<RunningServer> StartAsync(ServerOptions? options = null, bool socket = false, Action<WebApplicationBuilder>? configure = null)
    {
        options ??= new ServerOptions();
        options = options with { Port = 0 };
        var host = new ModelHost();
        var app = SpecDecServer.Build(options, host, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (!socket) builder.WebHost.UseTestServer();
            configure?.Invoke(builder);
        });
        await app.StartAsync();
        host.Ready(new ServedModel("target-q8_0", Target, Draft, "none", options));
        return new RunningServer(app, host, socket);
    }

    public void Dispose()
    {
        Draft.Dispose();
        Target.Dispose();
        Pool.Dispose();
    }
}

public sealed class RunningServer(WebApplication app, ModelHost host, bool socket) : IAsyncDisposable
{
    public ModelHost Host => host;

    /// <summary>A client of this server: TestServer's in process, or an HttpClient on the socket.</summary>
    public HttpClient Client() => socket ? new HttpClient { BaseAddress = BaseAddress } : app.GetTestClient();

    public Uri BaseAddress => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
