using System.Text.Json;
using SpecDec.Chat;
using SpecDec.Templates;
using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Templates;

/// <summary>
/// Real chat templates through the Jinja subset. References: llama.cpp's tests/test-chat-template.cpp expectations
/// (its Jinja engine's renders of 35 templates), and for the model families' own templates the prompt formats
/// their model cards document, written out here, and transformers' own renders of every fixture template
/// (<c>transformers-renders.json</c>, made on the GPU machine by <c>tests/fixtures/make_template_renders.py</c>
/// with transformers 5.17). The cases where llama.cpp's expectation differs from what Jinja itself renders are
/// named below.
/// </summary>
public sealed class ChatTemplateTests
{
    static string Fixture(string name) => Path.Combine(RepoPaths.Root, "tests/SpecDec.Tests/Templates/Fixtures", name);

    static readonly ChatTurn[] Conversation =
    [
        new("system", "You are a helpful assistant"), new("user", "Hello"), new("assistant", "Hi there"),
        new("user", "Who are you"), new("assistant", "   I am an assistant   "), new("user", "Another question"),
    ];

    /// <summary>
    /// Cases whose llama.cpp expectation is not plain Jinja: for templates that ignore or refuse a system message,
    /// llama.cpp's chat layer first folds the system message into the first user message (its "system role
    /// polyfill"), which transformers does not do.
    /// </summary>
    static readonly string[] PolyfilledByLlamaCpp =
    [
        "mistralai/Mistral-7B-Instruct-v0.2 (NOTE: Old pre-v1 without a system prompt)", "google/gemma-7b-it",
        "OrionStarAI/Orion-14B-Chat", "Phi-3-mini", "Phi-3-medium", "yandex/YandexGPT-5-Lite-8B-instruct",
    ];

    [Fact]
    public void The_templates_of_llama_cpp_test_chat_template_render_as_it_expects()
    {
        var cases = JsonDocument.Parse(File.ReadAllText(Fixture("llama-cpp-test-chat-template-cases.json"))).RootElement;
        int checkedCases = 0;
        var failures = new List<string>();
        foreach (var c in cases.EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            if (!c.GetProperty("supported_with_jinja").GetBoolean() || PolyfilledByLlamaCpp.Contains(name)) continue;
            var messages = Conversation.Concat(c.GetProperty("extra").EnumerateArray()
                .Select(m => new ChatTurn(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!))).ToArray();
            string expected = c.GetProperty("expected_output_jinja").GetString() is { Length: > 0 } jinja ? jinja : c.GetProperty("expected_output").GetString()!;
            var prompt = new ChatPrompt(c.GetProperty("template_str").GetString()!, c.GetProperty("bos_token").GetString(), c.GetProperty("eos_token").GetString());
            string actual;
            try { actual = prompt.Render(messages); }
            catch (TemplateException e) { actual = "error: " + e.Message; }
            if (actual != expected) failures.Add($"{name}:\n  expected {JsonSerializer.Serialize(expected)}\n  actual   {JsonSerializer.Serialize(actual)}");
            checkedCases++;
        }
        Assert.Empty(failures);
        Assert.Equal(29, checkedCases);
    }

    /// <summary>
    /// Every fixture template × five conversations × with and without the generation prompt (and Qwen3's
    /// enable_thinking = false), as transformers' chat-template renderer (apply_chat_template's) wrote them: the same
    /// text, or the same raise_exception message where the template refuses the conversation.
    /// </summary>
    [Fact]
    public void The_fixture_templates_render_as_transformers_renders_them()
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Fixture("transformers-renders.json"))).RootElement;
        var conversations = doc.GetProperty("conversations").EnumerateObject().ToDictionary(c => c.Name,
            c => c.Value.EnumerateArray().Select(m => new ChatTurn(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToArray());
        var now = DateTimeOffset.Parse(doc.GetProperty("clock").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var failures = new List<string>();
        int cases = 0;
        foreach (var c in doc.GetProperty("cases").EnumerateArray())
        {
            string file = c.GetProperty("template").GetString()!, conversation = c.GetProperty("conversation").GetString()!;
            bool generation = c.GetProperty("add_generation_prompt").GetBoolean();
            var extra = c.GetProperty("extra").EnumerateObject().ToDictionary(e => e.Name, e => (object?)e.Value.GetBoolean());
            var prompt = new ChatPrompt(File.ReadAllText(Fixture(file)), c.GetProperty("bos_token").GetString(), c.GetProperty("eos_token").GetString()) { Now = () => now };
            string expected = c.TryGetProperty("output", out var output) ? output.GetString()!
                : "error: " + c.GetProperty("error").GetString()!["TemplateError: ".Length..];
            string actual;
            try { actual = prompt.Render(conversations[conversation], generation, extra); }
            catch (TemplateException e) { actual = "error: " + e.Message; }
            if (actual != expected)
                failures.Add($"{file}, {conversation}, generation {generation}, {JsonSerializer.Serialize(extra)}:\n  expected {JsonSerializer.Serialize(expected)}\n  actual   {JsonSerializer.Serialize(actual)}");
            cases++;
        }
        Assert.Empty(failures);
        Assert.Equal(130, cases);
    }

    [Fact]
    public void A_template_that_refuses_a_system_message_raises_its_own_message()
    {
        var prompt = new ChatPrompt(File.ReadAllText(Fixture("google-gemma-2-2b-it.jinja")), "<bos>", "<eos>");
        var e = Assert.Throws<TemplateException>(() => prompt.Render(Conversation));
        Assert.Equal("System role not supported", e.Message);
        Assert.Equal("<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\n",
            prompt.Render(Conversation[1..4]));
    }

    static readonly ChatTurn[] Short = [new("system", "You are terse."), new("user", "Hello"), new("assistant", "Hi there"), new("user", "Who are you?")];

    static string Render(string file, ChatTurn[]? messages = null, string bos = "<s>", string eos = "</s>", bool generation = true) =>
        new ChatPrompt(File.ReadAllText(Fixture(file)), bos, eos) { Now = () => new DateTimeOffset(2025, 1, 15, 9, 30, 0, TimeSpan.Zero) }
            .Render(messages ?? Short, generation);

    [Theory]
    // Llama 3.1: a system header with the knowledge cutoff and the template's fixed date, then header/eot turns.
    [InlineData("meta-llama-Llama-3.1-8B-Instruct.jinja", "<|begin_of_text|>", "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")]
    // ChatML (Qwen2.5, Qwen3): the given system message replaces the default one.
    [InlineData("Qwen-Qwen2.5-7B-Instruct.jinja", "", "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n")]
    [InlineData("Qwen-Qwen3-0.6B.jinja", "", "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n")]
    [InlineData("microsoft-Phi-3.5-mini-instruct.jinja", "", "<|system|>\nYou are terse.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you?<|end|>\n<|assistant|>\n")]
    // DeepSeek-R1 distills: the system text first, full-width bar markers, and the answer opens with <think>.
    [InlineData("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "<｜begin▁of▁sentence｜>", "<｜begin▁of▁sentence｜>You are terse.<｜User｜>Hello<｜Assistant｜>Hi there<｜end▁of▁sentence｜><｜User｜>Who are you?<｜Assistant｜><think>\n</think>")]
    // Mistral Nemo (v3-tekken): the system message goes before the last user message.
    [InlineData("mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "<s>[INST]Hello[/INST]Hi there</s>[INST]You are terse.\n\nWho are you?[/INST]")]
    [InlineData("HuggingFaceTB-SmolLM3-3B.jinja", "", "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are terse.\n\n<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n")]
    [InlineData("ibm-granite-granite-3.3-2B-Instruct.jinja", "", "<|start_of_role|>system<|end_of_role|>You are terse.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Hello<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>Hi there<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Who are you?<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>")]
    // gpt-oss (harmony): the system message becomes the developer's instructions; strftime_now dates the system header.
    [InlineData("openai-gpt-oss-120b.jinja", "", "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: 2025-01-15\n\nReasoning: medium\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|><|start|>developer<|message|># Instructions\n\nYou are terse.\n\n<|end|><|start|>user<|message|>Hello<|end|><|start|>assistant<|channel|>final<|message|>Hi there<|end|><|start|>user<|message|>Who are you?<|end|><|start|>assistant")]
    public void Model_family_templates_render_their_documented_format(string file, string bos, string expected)
    {
        Assert.Equal(expected, Render(file, bos: bos));
    }

    [Fact]
    public void Qwen3_without_a_system_message_and_with_thinking_off()
    {
        var prompt = new ChatPrompt(File.ReadAllText(Fixture("Qwen-Qwen3-0.6B.jinja")), null, "<|im_end|>");
        Assert.Equal("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
            prompt.Render([new ChatTurn("user", "Hello")], true, new Dictionary<string, object?> { ["enable_thinking"] = false }));
        // Qwen2.5 writes its default system message when the conversation has none.
        Assert.StartsWith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello",
            new ChatPrompt(File.ReadAllText(Fixture("Qwen-Qwen2.5-7B-Instruct.jinja")), null, null).Render([new ChatTurn("user", "Hello")]));
    }

    [Fact]
    public void Tools_reach_the_template_as_JSON()
    {
        var tools = JsonDocument.Parse("""[{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]""").RootElement;
        string text = new ChatPrompt(File.ReadAllText(Fixture("Qwen-Qwen2.5-7B-Instruct.jinja")), null, null)
            .Render([new ChatTurn("user", "Weather in Paris?")], true, new Dictionary<string, object?> { ["tools"] = tools });
        Assert.Contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather of a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n</tools>", text);
    }
}
