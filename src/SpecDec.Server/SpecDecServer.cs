using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace SpecDec.Server;

/// <summary>
/// Builds the HTTP server: OpenAI's /v1/models, /v1/completions and /v1/chat/completions, /health, /metrics,
/// and the playground at /.
/// Kestrel listens on <see cref="ServerOptions.Host"/> (loopback unless told otherwise) with the body-size cap;
/// the API key guards /v1. Every refusal is OpenAI's error object.
/// </summary>
public static class SpecDecServer
{
    /// <param name="configure">Last changes to the builder before it builds (tests swap in an in-process server).</param>
    public static WebApplication Build(ServerOptions options, ModelHost host, Action<WebApplicationBuilder>? configure = null)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Parse(options.Host == "localhost" ? "127.0.0.1" : options.Host), options.Port);
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            kestrel.AddServerHeader = false;
        });
        // The thread that flushes a response sends it, rather than waking a thread-pool thread per send: a stream
        // flushes once per round, and on a 2-core machine each woken thread spun on the cores the model's worker
        // pool was using (a 512-token stream: about 40 000 context switches of the pool's worker and the thread
        // pool against about 300 inline; decode through the server −22 % against `specdec generate`, see
        // docs/serving.md). Generation hops off the receive path first (CompletionEndpoint).
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        // One line per request from SpecDec.Server; ASP.NET's own per-request lines only when something is wrong.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        configure?.Invoke(builder);
        var app = builder.Build();

        var metrics = new ServerMetrics(() => host.Model?.Scheduler);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SpecDec.Server");
        var completions = new CompletionEndpoint(host, options, metrics, logger);

        app.Use(async (http, next) =>
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                if (options.ApiKey is string key && http.Request.Path.StartsWithSegments("/v1") && !Authorized(http, key))
                    throw new ApiException(HttpStatusCode.Unauthorized, "missing or wrong API key: send Authorization: Bearer KEY", code: "invalid_api_key");
                await next(http);
            }
            catch (ApiException e) when (!http.Response.HasStarted)
            {
                await WriteErrorAsync(http, e);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                // The client left; nothing to answer.
            }
            catch (OperationCanceledException) when (!http.Response.HasStarted)
            {
                await WriteErrorAsync(http, new ApiException(HttpStatusCode.RequestTimeout, $"the request did not finish within {options.RequestTimeout.TotalSeconds:F0} s", "timeout", "timeout"));
            }
            catch (SpecDecException e) when (!http.Response.HasStarted)
            {
                await WriteErrorAsync(http, ApiException.BadRequest(e.Message));
            }
            finally
            {
                string endpoint = http.GetEndpoint()?.DisplayName ?? "unmatched";
                metrics.Requests.WithLabels(endpoint, http.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
                metrics.Latency.WithLabels(endpoint).Observe(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        });

        app.MapGet("/", Playground.Serve).WithDisplayName("/");
        app.MapGet("/health", () => host.Model is null
            ? Results.Json(new { status = "loading" }, statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Json(new { status = "ok" })).WithDisplayName("/health");
        app.MapGet("/v1/models", () =>
        {
            var model = host.Model ?? throw new ApiException(HttpStatusCode.ServiceUnavailable, "the model is still loading", "server_error", "model_loading");
            return Results.Json(new
            {
                @object = "list",
                data = new[] { new { id = model.Id, @object = "model", created = 0, owned_by = "specdec", methods = model.Methods, default_method = model.DefaultMethod } },
            });
        }).WithDisplayName("/v1/models");
        app.MapPost("/v1/completions", (HttpContext http) => completions.HandleAsync(http, chat: false)).WithDisplayName("/v1/completions");
        app.MapPost("/v1/chat/completions", (HttpContext http) => completions.HandleAsync(http, chat: true)).WithDisplayName("/v1/chat/completions");
        app.MapMetrics("/metrics", metrics.Registry).WithDisplayName("/metrics");
        app.MapFallback((HttpContext http) =>
            throw new ApiException(HttpStatusCode.NotFound, $"no endpoint {http.Request.Method} {http.Request.Path}", code: "not_found"));
        return app;
    }

    private static bool Authorized(HttpContext http, string key)
    {
        string? header = http.Request.Headers.Authorization;
        const string bearer = "Bearer ";
        if (header is null || !header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)) return false;
        var given = System.Text.Encoding.UTF8.GetBytes(header[bearer.Length..].Trim());
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(given, System.Text.Encoding.UTF8.GetBytes(key));
    }

    private static async Task WriteErrorAsync(HttpContext http, ApiException e)
    {
        http.Response.Clear();
        http.Response.StatusCode = (int)e.Status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(e.Body));
    }
}
