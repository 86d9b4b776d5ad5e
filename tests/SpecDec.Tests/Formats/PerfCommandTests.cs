using System.Text.Json;
using SpecDec.Cli.Commands;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Formats;

/// <summary>`specdec perf` on a tiny GGUF: the report says what was run, and its figures hang together.</summary>
public sealed class PerfCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Out, string Err) Run(params string[] args) => CommandInvocation.Run(PerfCommand.Create(), args);

    [Fact]
    public void Json_reports_the_context_and_cache_type_asked_for_and_a_cost_curve_that_starts_at_one()
    {
        string folder = Path.Combine(_dir.Path, "hf");
        new TinyHf().Write(folder);
        string gguf = _dir.File("tiny.gguf");
        GgufConverter.Convert(folder, gguf, GgmlType.F32);

        var (code, output, error) = Run("perf", "--model", gguf, "--threads", "1", "--context", "8", "--cache-type", "f16", "--json");
        Assert.Equal(0, code);
        Assert.Contains("verification cost", error); // progress goes to stderr, JSON alone to stdout
        using var report = JsonDocument.Parse(output);
        JsonElement r = report.RootElement;
        Assert.Equal(8, r.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal("f16", r.GetProperty("kv_cache_type").GetString());
        Assert.Equal(1, r.GetProperty("threads").GetInt32());
        double[] cost = r.GetProperty("verify_cost").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(16, cost.Length);
        Assert.Equal(1, cost[0]);
        Assert.True(r.GetProperty("decode_tok_s").GetDouble() > 0);
        Assert.True(r.GetProperty("prefill_64_tok_s").GetDouble() > 0); // 64 tokens after the 8, as llama-bench's pp64 -d 8
        // Bytes per token: every weight but the embedding table (untied here: the output head is its own tensor)
        // plus the f16 cache at the middle of the 32 decode steps: 2 bytes × keys and values × 2 layers × 2 KV
        // heads × head dim 16 × (8 + 16) rows.
        long weights;
        using (IModelSource source = ModelSource.Open(gguf))
            weights = source.Tensors.Where(t => t.Name != TensorNames.TokenEmbedding).Sum(t => t.ByteLength);
        Assert.Equal(weights + 2L * 2 * 2 * 2 * 16 * (8 + 16), r.GetProperty("bytes_per_token").GetInt64());
    }

    [Fact]
    public void A_context_below_one_is_refused_naming_the_option()
    {
        Assert.Contains("--context", Assert.Throws<SpecDecException>(() => Run("perf", "--context", "0")).Message);
    }

    [Fact]
    public void A_context_past_the_models_is_one_error_before_any_work()
    {
        string folder = Path.Combine(_dir.Path, "hf");
        new TinyHf().Write(folder); // max_position_embeddings 512
        string gguf = _dir.File("tiny.gguf");
        GgufConverter.Convert(folder, gguf, GgmlType.F32);

        var (code, output, error) = CommandInvocation.RunCli(PerfCommand.Create(), ["perf", "--model", gguf, "--context", "449"]);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Equal("error: --context 449 needs 513 positions (64 more for the decode steps, c(k) and the 64-token prefill), past the model's context length of 512; use at most 448",
            error.Trim());
    }
}
