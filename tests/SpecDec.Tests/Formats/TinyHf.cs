using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace SpecDec.Tests.Formats;

/// <summary>
/// Small Hugging Face folders (config.json + safetensors) with seeded random weights under the names and
/// PyTorch shapes transformers uses, written independently of the code under test.
/// </summary>
public sealed class TinyHf
{
    public string Architecture { get; init; } = "LlamaForCausalLM";
    public int Hidden { get; init; } = 64;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int? HeadDim { get; init; }
    public int Intermediate { get; init; } = 96;
    public int Layers { get; init; } = 2;
    public int Vocab { get; init; } = 40;
    public bool Tied { get; init; }
    public string Dtype { get; init; } = "F32";
    public int Shards { get; init; } = 1;

    /// <summary>Seed of the random weights.</summary>
    public int Seed { get; init; } = 11;

    /// <summary>tokenizer.json to write instead of <see cref="TokenizerJson"/>.</summary>
    public JsonObject? Tokenizer { get; init; }

    /// <summary>tokenizer_config.json to write beside it, if any.</summary>
    public JsonObject? TokenizerConfig { get; init; }

    /// <summary>Edits config.json before it is written.</summary>
    public Action<JsonObject>? EditConfig { get; init; }

    /// <summary>Return null to drop a tensor, or a different PyTorch shape.</summary>
    public Func<string, long[], long[]?>? EditTensor { get; init; }

    private bool Bias => Architecture == "Qwen2ForCausalLM";
    private bool QkNorm => Architecture is "Qwen3ForCausalLM" or "Gemma3ForCausalLM";
    private bool Gemma => Architecture.StartsWith("Gemma", StringComparison.Ordinal);
    private int Dim => HeadDim ?? Hidden / Heads;

    /// <summary>PyTorch names and shapes ([out, in] for linear layers).</summary>
    public IEnumerable<(string Name, long[] Shape)> Tensors()
    {
        int q = Heads * Dim, kv = KvHeads * Dim;
        yield return ("model.embed_tokens.weight", [Vocab, Hidden]);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            yield return (p + "input_layernorm.weight", [Hidden]);
            yield return (p + "self_attn.q_proj.weight", [q, Hidden]);
            yield return (p + "self_attn.k_proj.weight", [kv, Hidden]);
            yield return (p + "self_attn.v_proj.weight", [kv, Hidden]);
            if (Bias)
            {
                yield return (p + "self_attn.q_proj.bias", [q]);
                yield return (p + "self_attn.k_proj.bias", [kv]);
                yield return (p + "self_attn.v_proj.bias", [kv]);
            }
            if (QkNorm)
            {
                yield return (p + "self_attn.q_norm.weight", [Dim]);
                yield return (p + "self_attn.k_norm.weight", [Dim]);
            }
            yield return (p + "self_attn.o_proj.weight", [Hidden, q]);
            yield return (p + "post_attention_layernorm.weight", [Hidden]);
            if (Gemma)
            {
                yield return (p + "pre_feedforward_layernorm.weight", [Hidden]);
                yield return (p + "post_feedforward_layernorm.weight", [Hidden]);
            }
            yield return (p + "mlp.gate_proj.weight", [Intermediate, Hidden]);
            yield return (p + "mlp.up_proj.weight", [Intermediate, Hidden]);
            yield return (p + "mlp.down_proj.weight", [Hidden, Intermediate]);
        }
        yield return ("model.norm.weight", [Hidden]);
        if (!Tied) yield return ("lm_head.weight", [Vocab, Hidden]);
    }

    public JsonObject Config()
    {
        var c = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["hidden_size"] = Hidden,
            ["intermediate_size"] = Intermediate,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KvHeads,
            ["vocab_size"] = Vocab,
            ["max_position_embeddings"] = 512,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 10000.0,
            ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = Tied,
            ["torch_dtype"] = "float32",
        };
        if (HeadDim is int d) c["head_dim"] = d;
        if (Gemma)
        {
            // Gemma's own fields, as google/gemma-2-2b and gemma-3-1b-pt configs spell them (small windows).
            c["hidden_act"] = "gelu_pytorch_tanh";
            c["hidden_activation"] = "gelu_pytorch_tanh";
            c["query_pre_attn_scalar"] = Dim; // as every Gemma but the 27Bs (which llama.cpp special-cases)
            c["sliding_window"] = 3;
            c["rope_theta"] = 1000000.0;
            if (Architecture == "Gemma2ForCausalLM")
            {
                c["attn_logit_softcapping"] = 3.0;
                c["final_logit_softcapping"] = 5.0;
            }
            else
            {
                c["rope_local_base_freq"] = 10000.0;
                c["layer_types"] = new JsonArray([.. Enumerable.Range(0, Layers).Select(l => (JsonNode)(l % 2 == 0 ? "sliding_attention" : "full_attention"))]);
            }
        }
        EditConfig?.Invoke(c);
        return c;
    }

    /// <summary>Writes the folder; returns the values of every written tensor as float32, by PyTorch name.</summary>
    public Dictionary<string, float[]> Write(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), Config().ToJsonString());
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), (Tokenizer ?? TokenizerJson()).ToJsonString());
        if (TokenizerConfig is not null) File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), TokenizerConfig.ToJsonString());
        var random = new Random(Seed);
        var values = new Dictionary<string, float[]>();
        var entries = new List<(string Name, string Dtype, long[] Shape, byte[] Data)>();
        foreach ((string name, long[] torchShape) in Tensors())
        {
            long[]? shape = EditTensor is null ? torchShape : EditTensor(name, torchShape);
            if (shape is null) continue;
            var v = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < v.Length; i++) v[i] = (float)(random.NextDouble() * 2 - 1);
            (byte[] bytes, float[] stored) = Encode(v);
            values[name] = stored;
            entries.Add((name, Dtype, shape, bytes));
        }

        if (Shards == 1)
        {
            File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), SafetensorsBytes.Build(entries, "{\"format\":\"pt\"}"));
            return values;
        }
        var weightMap = new JsonObject();
        int perShard = (entries.Count + Shards - 1) / Shards;
        for (int s = 0; s < Shards; s++)
        {
            string file = $"model-{s + 1:D5}-of-{Shards:D5}.safetensors";
            var part = entries.Skip(s * perShard).Take(perShard).ToList();
            foreach (var e in part) weightMap[e.Name] = file;
            File.WriteAllBytes(Path.Combine(folder, file), SafetensorsBytes.Build(part));
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = 0 }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), index.ToJsonString());
        return values;
    }

    /// <summary>Ids in <see cref="TokenizerJson"/>: 13 letters, 12 merged words, &lt;|endoftext|&gt;.</summary>
    public const int TokenizerTokens = 26;

    /// <summary>
    /// A small byte-level BPE tokenizer.json: letters a–m (ids 0–12), the merges "a b", "ab c", … "abcdefghijkl m"
    /// making "ab" … "abcdefghijklm" (ids 13–24), and the special token &lt;|endoftext|&gt; (id 25).
    /// </summary>
    public static JsonObject TokenizerJson()
    {
        var vocab = new JsonObject();
        var merges = new JsonArray();
        for (int i = 0; i < 13; i++) vocab[((char)('a' + i)).ToString()] = i;
        for (int n = 2; n <= 13; n++)
        {
            string word = "abcdefghijklm"[..n];
            merges.Add($"{word[..^1]} {word[^1]}");
            vocab[word] = 11 + n;
        }
        vocab["<|endoftext|>"] = 25;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject
            {
                ["id"] = 25, ["content"] = "<|endoftext|>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = merges,
            },
        };
    }

    /// <summary>The stored bytes for Dtype, and the values they decode to.</summary>
    private (byte[], float[]) Encode(float[] v)
    {
        switch (Dtype)
        {
            case "F16":
            {
                Half[] h = v.Select(x => (Half)x).ToArray();
                return (MemoryMarshal.AsBytes(h.AsSpan()).ToArray(), h.Select(x => (float)x).ToArray());
            }
            case "BF16":
            {
                // Truncating to the top 16 bits is a valid bf16 value; which rounding made it does not matter here.
                ushort[] b = v.Select(x => (ushort)(BitConverter.SingleToUInt32Bits(x) >> 16)).ToArray();
                return (MemoryMarshal.AsBytes(b.AsSpan()).ToArray(), b.Select(x => BitConverter.UInt32BitsToSingle((uint)x << 16)).ToArray());
            }
            default:
                return (MemoryMarshal.AsBytes(v.AsSpan()).ToArray(), v);
        }
    }
}
