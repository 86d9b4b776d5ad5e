using SpecDec.Cli.Commands;
using SpecDec.Tests.Formats;
using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Cli;

/// <summary>`specdec template render`: exactly the rendered prompt on stdout, or one error line.</summary>
public sealed class TemplateCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string File(string name, string text)
    {
        string path = Path.Combine(_dir.Path, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CommandInvocation.RunCli(TemplateCommand.Create(), args);

    [Fact]
    public void Renders_the_model_s_own_template_with_its_BOS()
    {
        string messages = File("m.json", """[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Why?"}]""");
        var (code, output, error) = Run("template", "render", "--model", Path.Combine(RepoPaths.Root, "models/target-q8_0.gguf"), "--messages", messages, "--add-generation-prompt");
        Assert.Equal((0, ""), (code, error));
        Assert.Equal("<|endoftext|><|user|>\nHi\n<|assistant|>\nHello\n<|user|>\nWhy?\n<|assistant|>\n", output);
    }

    [Fact]
    public void A_template_file_gets_the_variables_of_a_messages_object()
    {
        string template = File("t.jinja", "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{{ tools | length }} tools{% if add_generation_prompt %}>{% endif %}");
        string messages = File("m.json", """{"messages": [{"role": "user", "content": "Hi"}], "tools": [{"name": "a"}, {"name": "b"}]}""");
        var (code, output, _) = Run("template", "render", "--template", template, "--messages", messages, "--bos-token", "<s>");
        Assert.Equal(0, code);
        Assert.Equal("<s>[user] Hi\n2 tools", output);
    }

    [Theory]
    [InlineData("{% for m in messages %}{{ m.content }}", "error: ")]
    [InlineData("{{ raise_exception('System role not supported') }}", "error: the template refused the messages: System role not supported")]
    public void A_template_that_cannot_render_is_one_error_line(string source, string start)
    {
        string template = File("t.jinja", source);
        string messages = File("m.json", """[{"role": "user", "content": "Hi"}]""");
        var (code, output, error) = Run("template", "render", "--template", template, "--messages", messages);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith(start, error);
        Assert.Single(error.TrimEnd().Split('\n'));
        if (start == "error: ") Assert.Contains("{% for %} is not closed", error);
    }
}
