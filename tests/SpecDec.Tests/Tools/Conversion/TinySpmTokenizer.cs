using System.Text.Json.Nodes;

namespace SpecDec.Tests.Tools.Conversion;

/// <summary>
/// A Llama-2-style tokenizer.json in the form make_fixtures.py saves: normalizer Prepend("▁") + Replace(" ", "▁"),
/// BPE with byte fallback and the 256 &lt;0xNN&gt; tokens, BOS added by TemplateProcessing.
/// Ids: &lt;unk&gt; 0, &lt;s&gt; 1, &lt;/s&gt; 2, bytes 3–258, then ▁ a b ▁a ab ▁ab (259–264).
/// </summary>
internal static class TinySpmTokenizer
{
    public static JsonObject Json()
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = 3 + b;
        string[] words = ["▁", "a", "b", "▁a", "ab", "▁ab"];
        for (int i = 0; i < words.Length; i++) vocab[words[i]] = 259 + i;
        var added = new JsonArray();
        foreach ((int id, string content) in new[] { (0, "<unk>"), (1, "<s>"), (2, "</s>") })
            added.Add(new JsonObject { ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true });
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
            },
            ["pre_tokenizer"] = null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(),
                ["special_tokens"] = new JsonObject { ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") } },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = "<unk>", ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true, ["byte_fallback"] = true, ["ignore_merges"] = false, ["vocab"] = vocab,
                ["merges"] = new JsonArray("▁ a", "a b", "▁a b"),
            },
        };
    }

    public static JsonObject Config() => new()
    {
        ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["unk_token"] = "<unk>", ["pad_token"] = null,
        ["chat_template"] = "{% for m in messages %}{{ m['content'] }}{% endfor %}",
        ["tokenizer_class"] = "LlamaTokenizerFast",
    };
}
