using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SpecDec.Generation;
using SpecDec.Sampling;
using SpecDec.Speculation;

namespace SpecDec.Server;

/// <summary>
/// POST /v1/completions and /v1/chat/completions: one request from body to last byte. The prompt is tokenized and
/// checked, the request waits for a sequence slot, then its prefill takes its turn on the model and its rounds run
/// together with the other requests' (<see cref="RequestScheduler"/>). Streaming sends each round's text as one Server-Sent Event, outside the turn
/// and never waiting on the client (<see cref="StreamedAnswer"/>), so a slow client holds up no one, itself included.
/// Everything that can be refused is refused before the first byte of the answer, with OpenAI's error object.
/// </summary>
internal sealed class CompletionEndpoint(ModelHost host, ServerOptions options, ServerMetrics metrics, ILogger logger)
{
    // Text as written (quotes and non-ASCII unescaped where JSON allows): answers are read by people too.
    private static readonly JsonWriterOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task HandleAsync(HttpContext http, bool chat)
    {
        long arrival = Stopwatch.GetTimestamp();
        var model = host.Model ?? throw new ApiException(HttpStatusCode.ServiceUnavailable, "the model is still loading", "server_error", "model_loading");
        var request = CompletionRequest.Parse(await ReadBodyAsync(http), chat);
        int[] prompt = Tokenize(model, request);
        var generation = Options(model, request, prompt.Length);

        using var lease = model.Scheduler.Admit();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        timeout.CancelAfter(options.RequestTimeout);
        var cancel = timeout.Token;
        var generator = await lease.GeneratorAsync(cancel);
        // From here the request's code runs on the scheduler's generation thread (each await of it resumes there),
        // never in the connection's receive loop, which so sees the client leave while the answer is generated.
        double startMs = 0; // arrival to the start of generation: reading, tokenizing, waiting for a slot and the turn
        using var session = await model.Scheduler.RunAsync(() =>
        {
            startMs = Stopwatch.GetElapsedTime(arrival).TotalMilliseconds;
            return generator.Begin(prompt, generation);
        }, cancel);
        // The first token comes with the prefill's last chunk; it is sent right away, before the proposer reads the
        // prompt (in the first round) and before any round.
        string first = await model.Scheduler.PrefillAsync(session, cancel) ?? "";

        var rounds = new RequestScheduler.RoundRequest(session, cancel);
        var response = new ResponseShape(chat, "specdec-" + Guid.NewGuid().ToString("N")[..24], DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model.Id, generation.Speculation.Method);
        string? finish;
        if (request.Stream) finish = await StreamAsync(http, model, rounds, response, first, request.IncludeUsage, arrival, cancel);
        else
        {
            var text = new System.Text.StringBuilder();
            string piece = first;
            bool none = true; // no text yet
            while (true)
            {
                if (none && piece.Length > 0) metrics.FirstToken.Observe(Stopwatch.GetElapsedTime(arrival).TotalSeconds);
                none &= piece.Length == 0;
                text.Append(piece);
                if (session.FinishReason is not null || cancel.IsCancellationRequested) break;
                piece = await model.Scheduler.StepAsync(rounds);
            }
            metrics.Finished(session.Stats);
            finish = FinishName(session.FinishReason);
            if (http.RequestAborted.IsCancellationRequested) finish = null;
            else
            {
                http.Response.ContentType = "application/json";
                using (var json = new Utf8JsonWriter(http.Response.BodyWriter, Json))
                    response.WriteWhole(json, text.ToString(), finish, StatsSnapshot.Of(session.Stats));
                await http.Response.BodyWriter.FlushAsync(CancellationToken.None);
            }
        }
        logger.LogInformation("{Endpoint} {Id}: started after {StartMs:F1} ms, first token at {FirstMs:F1} ms, {Stats}, finish {Finish}", http.Request.Path, response.Id,
            startMs, startMs + session.Stats.FirstTokenMs, session.Stats, finish ?? "client gone");
    }

    /// <summary>
    /// Sends the first token's text (<paramref name="first"/>, from the prefill) and that of each round that adds
    /// some (<see cref="StreamedAnswer"/>; the headers, and for chat the role event, go out with the first), the final event with the finish reason and speculation statistics, the
    /// usage event when asked for, and <c>data: [DONE]</c>. Returns the finish reason, or null when the client left
    /// (its request stops at its next turn).
    /// </summary>
    private async Task<string?> StreamAsync(HttpContext http, ServedModel model, RequestScheduler.RoundRequest rounds, ResponseShape response,
        string first, bool includeUsage, long arrival, CancellationToken cancel)
    {
        var session = rounds.Session;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        var events = new SseWriter(http.Response.BodyWriter, Json);
        var answer = new StreamedAnswer(events, response, options.StreamInterval, cancel);
        if (response.Chat)
        {
            response.WriteRoleChunk(events.Begin());
            events.End();
        }
        string finish;
        try
        {
            string piece = first; // the prefill's token: its RoundTokens are still the session's
            bool none = true;     // no text yet
            while (true)
            {
                if (piece.Length > 0)
                {
                    if (none) metrics.FirstToken.Observe(Stopwatch.GetElapsedTime(arrival).TotalSeconds);
                    none = false;
                    answer.Add(piece, session.RoundTokens, session.Stats);
                }
                if (session.FinishReason is not null) break;
                piece = await model.Scheduler.StepAsync(rounds);
            }
            finish = FinishName(session.FinishReason)!;
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            await answer.DrainAsync(); // no write may outlive the request
            return null;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // The server's timeout: end the stream as a length-limited answer.
            await answer.EndAsync("length", session.Stats, includeUsage: false, CancellationToken.None);
            return "length";
        }
        finally
        {
            metrics.Finished(session.Stats); // when generation ends, whether or not the client has read it all
        }
        try
        {
            await answer.EndAsync(finish, session.Stats, includeUsage, cancel);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return null;
        }
        return finish;
    }

    private async Task<byte[]> ReadBodyAsync(HttpContext http)
    {
        if (http.Request.ContentLength > options.MaxBodyBytes) throw TooLarge();
        using var buffer = new MemoryStream();
        try
        {
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge();
        }
        return buffer.ToArray();

        ApiException TooLarge() => new(HttpStatusCode.RequestEntityTooLarge, $"the request body is larger than {options.MaxBodyBytes} bytes", code: "body_too_large");
    }

    private static int[] Tokenize(ServedModel model, CompletionRequest request)
    {
        if (request.Messages is null) return model.Target.Tokenizer.Encode(request.Prompt!, addSpecial: true, parseSpecial: true);
        var template = model.Chat ?? throw ApiException.BadRequest("this model has no chat template; use /v1/completions", "messages", "no_chat_template");
        try
        {
            return template.Encode(request.Messages);
        }
        catch (SpecDecException e)
        {
            throw ApiException.BadRequest($"the chat template refused the messages: {e.Message}", "messages", "template_error");
        }
    }

    /// <summary>The request as generation options, checked against the caps and the context.</summary>
    private GenerationOptions Options(ServedModel model, CompletionRequest request, int promptTokens)
    {
        int context = model.Target.Config.ContextLength;
        if (promptTokens >= context)
            throw ApiException.BadRequest($"the prompt has {promptTokens} tokens but the model's context holds {context}", "messages", "context_length_exceeded");
        if (request.MaxTokens > options.MaxTokensCap)
            throw ApiException.BadRequest($"max_tokens is {request.MaxTokens} but this server allows at most {options.MaxTokensCap}", "max_tokens");
        if (promptTokens + request.MaxTokens > context)
            throw ApiException.BadRequest($"the prompt has {promptTokens} tokens and max_tokens is {request.MaxTokens}, but the model's context holds {context}", "max_tokens", "context_length_exceeded");
        string method = request.Method ?? model.DefaultMethod;
        if (!model.Methods.Contains(method))
            throw ApiException.BadRequest($"spec must be one of {string.Join(", ", model.Methods)} (got '{method}')", "spec");
        var generation = new GenerationOptions
        {
            MaxTokens = request.MaxTokens ?? Math.Min(options.MaxTokensCap, context - promptTokens),
            StopStrings = request.Stop,
            AddSpecialTokens = request.Messages is null,
            Sampling = new SamplingOptions
            {
                Temperature = request.Temperature, TopP = request.TopP, TopK = request.TopK, MinP = request.MinP, Seed = request.Seed,
            },
            Speculation = SpeculationOptions.For(method),
        };
        try
        {
            generation.Validate();
        }
        catch (SpecDecException e)
        {
            throw ApiException.BadRequest(e.Message);
        }
        return generation;
    }

    private static string? FinishName(FinishReason? reason) => reason switch
    {
        null => null,
        FinishReason.StopToken or FinishReason.StopString => "stop",
        _ => "length",
    };
}
