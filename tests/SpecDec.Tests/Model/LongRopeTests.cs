using System.Text.Json;
using System.Text.Json.Nodes;
using SpecDec.Backends.Cpu;
using SpecDec.Formats;
using SpecDec.Generation;
using SpecDec.Model;
using SpecDec.Sampling;
using SpecDec.Speculation;
using SpecDec.Tensors;
using SpecDec.Tests.Formats;
using SpecDec.Tests.Tools.Conversion;

namespace SpecDec.Tests.Model;

/// <summary>
/// LongRoPE's two tables (Phi-3.5, Phi-4-mini): a sequence whose limit (prompt + max tokens) exceeds the original
/// context rotates all its positions with the long factors, one within it with the short ones, as llama.cpp chooses
/// by its context per sequence. phi3-longrope-long (original context 32, max 256, a prompt of 49 tokens) is
/// transformers' run with the long factors; TransformersParityTests matches its logits and greedy ids from the folder
/// and from the converted GGUF, these test the choice, its boundary, and requests that reuse a cache.
/// </summary>
public sealed class LongRopeTests
{
    const string Fixture = "phi3-longrope-long";
    const int Original = 32;

    sealed record Expected(int[] prompt_ids, float[][] logits, int[] greedy_ids);

    static Expected Load() =>
        JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(ModelFixtures.Dir(Fixture), "expected.json")))!;

    static Transformer LoadModel() => Transformer.Load(ModelSource.Open(ModelFixtures.Dir(Fixture)), threads: 2);

    [Fact]
    public void The_config_takes_the_long_factors_only_past_the_original_context()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelFixtures.Dir(Fixture), "config.json")));
        ModelConfig c = HfConfigReader.Read(doc.RootElement, "config.json");
        Assert.Equal((256, Original), (c.ContextLength, c.RopeOriginalContext));
        // Equal to the original context is still short, in llama.cpp (n_ctx_seq > n_ctx_orig_yarn) and transformers (seq_len > original).
        Assert.False(c.TakesLongRope(Original));
        Assert.True(c.TakesLongRope(Original + 1));
        Assert.False((c with { RopeOriginalContext = 0 }).TakesLongRope(256));
    }

    /// <summary>Both tables are transformers' inverse frequencies (its rotary's original_inv_freq and long_inv_freq) and one attention factor.</summary>
    [Fact]
    public void Both_tables_are_transformers_inverse_frequencies()
    {
        JsonNode report = JsonNode.Parse(File.ReadAllText(Path.Combine(ModelFixtures.Dir(Fixture), "..", "..", "arch_fixtures_report.json")))!["models"]![Fixture]!;
        using var model = LoadModel();
        ModelConfig c = model.Config;
        Assert.Equal(report["rope_attention_scaling"]!.GetValue<double>(), c.RopeAttentionFactor, 6);
        foreach ((WeightTensor? factors, string table) in new[] { (model.Weights.RopeFactors, "rope_original_inv_freq"), (model.Weights.RopeFactorsLong, "rope_long_inv_freq") })
        {
            Assert.NotNull(factors);
            float[] f = RopeFrequencies.Of(c, GgmlValues.Read(factors!));
            double[] reference = report[table]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            Assert.Equal(reference.Length, f.Length);
            for (int j = 0; j < f.Length; j++)
                Assert.True(Math.Abs(f[j] - reference[j]) <= 1e-5 * reference[j], $"{table}[{j}]: {f[j]}, transformers {reference[j]}");
        }
    }

    /// <summary>
    /// The fixture's prompt through caches whose limits lie either side of the original context: 32 takes the short
    /// factors and misses transformers' logits by far more than the parity bound (so the parity test can tell the
    /// tables apart), 33 takes the long ones and matches.
    /// </summary>
    [Fact]
    public void A_sequence_limited_to_the_original_context_takes_the_short_factors_one_past_it_the_long()
    {
        Expected e = Load();
        using var model = LoadModel();
        int n = e.prompt_ids.Length, vocab = model.Config.VocabSize;
        Assert.True(n > Original + 1);
        IKvCache cache = model.CreateCache(n);
        var logits = new float[vocab];
        double Error(int limit)
        {
            cache.Restart(limit);
            model.Forward(ForwardBatch.Causal(e.prompt_ids, Enumerable.Range(0, n).ToArray()), cache, logits);
            return logits.Select((v, t) => Math.Abs(v - e.logits[^1][t])).Max();
        }
        double shortError = Error(Original), longError = Error(Original + 1);
        Assert.True(longError <= 1e-3, $"long factors: logits differ from transformers by {longError}");
        Assert.True(shortError > 0.1, $"short factors: logits differ from transformers by only {shortError}");
        Assert.Equal(Original + 1, cache.Limit);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Restart(n + 1));
    }

    static GenerationResult Run(Generator generator, int[] prompt, int maxTokens, SpeculationOptions speculation) =>
        generator.Generate(prompt, new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, Speculation = speculation });

    /// <summary>
    /// Requests past the original context decode as transformers does, plainly and with speculation that shares the
    /// target's cache (layer skipping) or runs a LongRoPE draft model of its own; a generator that served one then
    /// serves a request within the original context with the short factors (its reused cache restarts at the new
    /// limit), exactly as a fresh generator does, and the long request again.
    /// </summary>
    [Fact]
    public void Requests_past_the_original_context_decode_as_transformers_and_a_reused_cache_switches_tables()
    {
        Expected e = Load();
        using var model = LoadModel();
        using var draft = LoadModel();
        int[] shortPrompt = e.prompt_ids[..20];
        int shortTokens = Original - shortPrompt.Length;
        var none = SpeculationOptions.None;
        int[] shortReference = [.. Run(new Generator(model), shortPrompt, shortTokens, none).Tokens];
        // The same request one token longer takes the long factors: its first tokens differ, so the tables matter here.
        int[] shortWithLong = [.. Run(new Generator(model), shortPrompt, shortTokens + 1, none).Tokens];
        Assert.NotEqual(shortReference, shortWithLong[..shortTokens]);

        var generator = new Generator(model, draft);
        foreach (SpeculationOptions speculation in new[]
        {
            none,
            new SpeculationOptions { Method = SpeculationMethods.LayerSkip, ExitLayer = 1, DraftMin = 3, DraftMax = 3, DraftPMin = 0 },
            new SpeculationOptions { Method = SpeculationMethods.DraftModel, DraftMin = 4, DraftMax = 4, DraftPMin = 0 },
        })
        {
            Assert.Equal(e.greedy_ids, Run(generator, e.prompt_ids, e.greedy_ids.Length, speculation).Tokens);
            Assert.Equal(shortReference, Run(generator, shortPrompt, shortTokens, speculation).Tokens);
        }
        Assert.Equal(e.greedy_ids, Run(generator, e.prompt_ids, e.greedy_ids.Length, none).Tokens);
    }

    [Fact]
    public void A_request_may_reach_the_full_context_and_no_further()
    {
        Expected e = Load();
        using var model = LoadModel();
        int n = e.prompt_ids.Length, room = 256 - n;
        Assert.Equal(256, GenerationLoop.Limit(model, n, new GenerationOptions { MaxTokens = room }));
        var error = Assert.Throws<SpecDecException>(() => new Generator(model).Generate(e.prompt_ids, new GenerationOptions { MaxTokens = room + 1 }));
        Assert.Contains("context holds 256", error.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_file_with_one_LongRoPE_table_is_refused(bool keepLong)
    {
        ModelConfig c = TinyModels.Config("phi3");
        var dims = ExpectedTensors.For(c).ToDictionary(t => t.Name, t => t.Dims);
        dims[keepLong ? TensorNames.RopeFactorsLong : TensorNames.RopeFactorsShort] = [c.HeadDim / 2];
        var error = Assert.Throws<ModelFormatException>(() => ExpectedTensors.Check(c, dims, "model.gguf"));
        Assert.Contains($"has only {(keepLong ? TensorNames.RopeFactorsLong : TensorNames.RopeFactorsShort)}", error.Message);
    }
}
