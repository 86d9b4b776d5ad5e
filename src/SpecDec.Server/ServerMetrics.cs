using Prometheus;

namespace SpecDec.Server;

/// <summary>
/// The server's Prometheus metrics (prometheus-net), in a registry of its own so that several servers in one
/// process (tests) count apart. Served as text at GET /metrics.
/// </summary>
internal sealed class ServerMetrics
{
    public ServerMetrics(Func<RequestScheduler?> scheduler)
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("specdec_requests_total", "Requests answered, by endpoint and HTTP status.", "endpoint", "status");
        PromptTokens = factory.CreateCounter("specdec_prompt_tokens_total", "Prompt tokens of finished requests.");
        GeneratedTokens = factory.CreateCounter("specdec_generated_tokens_total", "Tokens generated.");
        DraftedTokens = factory.CreateCounter("specdec_drafted_tokens_total", "Draft tokens proposed for verification.");
        AcceptedTokens = factory.CreateCounter("specdec_accepted_tokens_total", "Draft tokens the target accepted.");
        Rounds = factory.CreateCounter("specdec_rounds_total", "Target verification forwards (one per round).");
        Tau = factory.CreateHistogram("specdec_tau", "Tokens per target forward of each finished request.",
            new HistogramConfiguration { Buckets = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8] });
        Latency = factory.CreateHistogram("specdec_request_duration_seconds", "Time from arrival to the last byte, by endpoint.",
            new HistogramConfiguration { LabelNames = ["endpoint"], Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });
        FirstToken = factory.CreateHistogram("specdec_time_to_first_token_seconds", "Time from arrival to the first generated text.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
        DotNetStats.Register(Registry); // process memory, GC heap and collections, CPU time: what a load test watches
        var queue = factory.CreateGauge("specdec_queue_length", "Requests waiting for a sequence slot.");
        var active = factory.CreateGauge("specdec_active_requests", "Requests generating.");
        var passes = factory.CreateCounter("specdec_batches_total", "Passes of the scheduler that ran rounds: their verifications in one forward (continuous batching).");
        var passRounds = factory.CreateCounter("specdec_batched_rounds_total", "Rounds those passes ran; over specdec_batches_total, the mean number of requests verified together.");
        Registry.AddBeforeCollectCallback(() =>
        {
            queue.Set(scheduler()?.Waiting ?? 0);
            active.Set(scheduler()?.Generating ?? 0);
            passes.IncTo(scheduler()?.Passes ?? 0);
            passRounds.IncTo(scheduler()?.PassRounds ?? 0);
        });
    }

    public CollectorRegistry Registry { get; }
    public Counter Requests { get; }
    public Counter PromptTokens { get; }
    public Counter GeneratedTokens { get; }
    public Counter DraftedTokens { get; }
    public Counter AcceptedTokens { get; }
    public Counter Rounds { get; }
    public Histogram Tau { get; }
    public Histogram Latency { get; }
    public Histogram FirstToken { get; }

    public void Finished(SpecDec.Generation.GenerationStats stats)
    {
        PromptTokens.Inc(stats.PromptTokens);
        GeneratedTokens.Inc(stats.GeneratedTokens);
        DraftedTokens.Inc(stats.Drafted);
        AcceptedTokens.Inc(stats.Accepted);
        Rounds.Inc(stats.Rounds);
        if (stats.Rounds > 0) Tau.Observe(stats.Tau);
    }
}
