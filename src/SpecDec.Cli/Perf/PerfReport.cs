using System.Text.Json;

namespace SpecDec.Cli.Perf;

/// <summary>What `specdec perf` measured, printed as a table or as JSON.</summary>
internal sealed record PerfReport
{
    public required string Model { get; init; }
    public required string Architecture { get; init; }
    public required string WeightTypes { get; init; }
    public required long FileBytes { get; init; }
    public required int Threads { get; init; }
    public required string Simd { get; init; }

    /// <summary>The packed int8 kernels' path (<see cref="Kernels.KernelPaths"/>): AVX-VNNI, AVX-512BW, AVX2 or scalar.</summary>
    public required string Kernels { get; init; }
    public required int PromptTokens { get; init; }

    /// <summary>KV cache element type: f32 or f16.</summary>
    public required string CacheType { get; init; }
    public required double PrefillTokensPerSecond { get; init; }

    /// <summary>A prefill of <see cref="PerfRunner.ChunkTokens"/> tokens after the prompt, at its depth (llama-bench's pp64 -d PromptTokens).</summary>
    public required double ChunkPrefillTokensPerSecond { get; init; }
    public required double DecodeTokensPerSecond { get; init; }

    /// <summary>Weights (the output head included) and KV cache read by one decode step.</summary>
    public required long BytesPerToken { get; init; }
    public required double MeasuredBandwidthGBs { get; init; }

    /// <summary>c(k) = t(forward of k tokens) / t(forward of 1), for k = 1..16 (index k − 1).</summary>
    public required double[] VerifyCost { get; init; }
    public required long PeakRssBytes { get; init; }

    /// <summary>Where it ran: "cpu", or the GPU (then Simd names it and the bandwidth is its device-to-device copy).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>c(k) at the larger k measured on a GPU (32, 64), else empty.</summary>
    public IReadOnlyList<(int K, double Cost)> LargeVerifyCost { get; init; } = [];

    public double AchievedGBs => BytesPerToken * DecodeTokensPerSecond / 1e9;
    public double BandwidthFraction => AchievedGBs / MeasuredBandwidthGBs;

    public void WriteTable(TextWriter o)
    {
        o.WriteLine($"model        {Model} ({Architecture}, {WeightTypes}, {FileBytes / 1e9:F2} GB)");
        o.WriteLine(Device == "cpu" ? $"threads      {Threads} ({Simd}, kernels {Kernels})" : $"device       {Simd}");
        o.WriteLine($"prefill      {PrefillTokensPerSecond,8:F1} tok/s  ({PromptTokens}-token prompt)");
        o.WriteLine($"             {ChunkPrefillTokensPerSecond,8:F1} tok/s  ({PerfRunner.ChunkTokens} tokens after it, as llama-bench's pp{PerfRunner.ChunkTokens} -d {PromptTokens})");
        o.WriteLine($"decode       {DecodeTokensPerSecond,8:F2} tok/s  ({1000 / DecodeTokensPerSecond:F1} ms/token)");
        o.WriteLine($"bytes/token  {BytesPerToken / 1e9,8:F3} GB     (weights + the {CacheType} KV cache) achieved {AchievedGBs:F1} GB/s = {BandwidthFraction:P0} of the measured {MeasuredBandwidthGBs:F1} GB/s {(Device == "cpu" ? "read" : "device copy")} bandwidth");
        o.WriteLine($"c(k)         k:    {string.Join(" ", Enumerable.Range(1, VerifyCost.Length).Select(k => $"{k,5}"))}");
        o.WriteLine($"                   {string.Join(" ", VerifyCost.Select(c => $"{c,5:F2}"))}");
        foreach (var (k, cost) in LargeVerifyCost) o.WriteLine($"             c({k}) = {cost:F2}");
        o.WriteLine($"peak RSS     {PeakRssBytes / 1e9,8:F2} GB");
    }

    public void WriteJson(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("model", Model);
        w.WriteString("architecture", Architecture);
        w.WriteString("weight_types", WeightTypes);
        w.WriteNumber("file_bytes", FileBytes);
        w.WriteNumber("threads", Threads);
        w.WriteString("simd", Simd);
        w.WriteString("kernels", Kernels);
        w.WriteNumber("prompt_tokens", PromptTokens);
        w.WriteString("kv_cache_type", CacheType);
        w.WriteNumber("prefill_tok_s", Math.Round(PrefillTokensPerSecond, 2));
        w.WriteNumber($"prefill_{PerfRunner.ChunkTokens}_tok_s", Math.Round(ChunkPrefillTokensPerSecond, 2));
        w.WriteNumber("decode_tok_s", Math.Round(DecodeTokensPerSecond, 3));
        w.WriteNumber("bytes_per_token", BytesPerToken);
        w.WriteNumber("achieved_gb_s", Math.Round(AchievedGBs, 2));
        w.WriteNumber("measured_bandwidth_gb_s", Math.Round(MeasuredBandwidthGBs, 2));
        w.WriteNumber("bandwidth_fraction", Math.Round(BandwidthFraction, 4));
        w.WriteStartArray("verify_cost");
        foreach (double c in VerifyCost) w.WriteNumberValue(Math.Round(c, 3));
        w.WriteEndArray();
        foreach (var (k, cost) in LargeVerifyCost) w.WriteNumber($"verify_cost_{k}", Math.Round(cost, 3));
        w.WriteString("device", Device);
        w.WriteNumber("peak_rss_bytes", PeakRssBytes);
        w.WriteEndObject();
    }
}
