using System.Text.Json;
using System.Text.Json.Nodes;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Model;

/// <summary>
/// The Phi-3 and mixture-of-experts fields of the make_arch_fixtures.py configs (transformers 5 wrote them), and one
/// clear refusal for each variant the forward does not run.
/// </summary>
public sealed class ArchitectureConfigTests
{
    static JsonObject Config(string fixture) => JsonNode.Parse(File.ReadAllText(Path.Combine(ModelFixtures.Dir(fixture), "config.json")))!.AsObject();

    static ModelConfig Read(JsonObject config)
    {
        using JsonDocument doc = JsonDocument.Parse(config.ToJsonString());
        return HfConfigReader.Read(doc.RootElement, "config.json");
    }

    [Fact]
    public void Phi3_stacks_its_projections_and_takes_transformers_LongRoPE_attention_factor()
    {
        ModelConfig c = Read(Config("phi3-longrope"));
        Assert.Equal("phi3", c.Architecture);
        Assert.True(c.FusedQkv && c.FusedGateUp);
        Assert.Equal(4096, c.RopeOriginalContext);
        // transformers' rotary_emb.attention_scaling for this config (arch_fixtures_report.json): √(1 + ln 32 / ln 4096).
        Assert.Equal(1.1902380714238083, c.RopeAttentionFactor, 6);
        // The short factors up to the original context, the long ones past it (LongRopeTests), up to the config's own.
        Assert.Equal(131072, c.ContextLength);
        Assert.True(!c.TakesLongRope(4096) && c.TakesLongRope(4097));
        ModelConfig phi4 = Read(Config("phi4-like"));
        Assert.Equal((1f, 0), (phi4.RopeAttentionFactor, phi4.RopeOriginalContext));
    }

    [Theory]
    [InlineData("mixtral", "llama", 8, 2, 32, true, false)]
    [InlineData("qwen3moe", "qwen3moe", 8, 2, 32, true, false)]
    [InlineData("olmoe", "olmoe", 8, 3, 32, false, true)]
    public void Experts_come_from_each_configs_own_fields(string fixture, string arch, int experts, int used, int width, bool normalize, bool wholeQkNorm)
    {
        ModelConfig c = Read(Config(fixture));
        Assert.Equal((arch, experts, used, width, normalize, wholeQkNorm),
            (c.Architecture, c.ExpertCount, c.ExpertsUsed, c.ExpertFfnSize, c.NormalizeExpertWeights, c.QkNormWhole));
    }

    [Theory]
    [InlineData("phi3-longrope", "partial_rotary_factor", "0.75", "partial_rotary_factor 0.75 is not supported")]
    [InlineData("qwen3moe", "decoder_sparse_step", "2", "decoder_sparse_step")]
    [InlineData("qwen3moe", "mlp_only_layers", "[0]", "mlp_only_layers")]
    [InlineData("olmoe", "clip_qkv", "8.0", "clip_qkv")]
    [InlineData("mixtral", "num_experts_per_tok", "9", "num_experts_per_tok")]
    public void Variants_the_forward_does_not_run_are_refused_by_field(string fixture, string field, string value, string message)
    {
        JsonObject config = Config(fixture);
        config[field] = JsonNode.Parse(value);
        var e = Assert.Throws<ModelFormatException>(() => Read(config));
        Assert.Contains(message, e.Message);
    }
}
