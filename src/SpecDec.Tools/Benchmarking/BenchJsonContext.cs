using System.Text.Json.Serialization;

namespace SpecDec.Tools.Benchmarking;

/// <summary>Source-generated (trim-safe) JSON for the benchmark's files, with snake_case names.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BenchRecord))]
[JsonSerializable(typeof(BenchSummary))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;
