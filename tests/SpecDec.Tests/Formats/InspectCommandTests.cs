using SpecDec.Cli;
using SpecDec.Cli.Commands;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Tensors;
using SpecDec.Tools.Conversion;

namespace SpecDec.Tests.Formats;

public sealed class InspectCommandTests
{
    private static string Inspect(string path)
    {
        using var source = ModelSource.Open(path);
        var o = new StringWriter();
        InspectCommand.Write(source, o);
        return o.ToString();
    }

    [Fact]
    public void ShowsConfigTokenizerAndAlignedTensorTable()
    {
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, "hf");
        new TinyHf { Architecture = "Qwen2ForCausalLM", Tied = true }.Write(folder);
        string gguf = dir.File("m.gguf");
        GgufConverter.Convert(folder, gguf, GgmlType.Q8_0);

        string text = Inspect(gguf);
        string[] lines = text.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains("format             GGUF v3", lines);
        Assert.Contains("architecture       qwen2", lines);
        Assert.Contains("attention heads    4 (kv 2, head dim 16)", lines);
        Assert.Contains("rope               neox, theta 10000", lines);
        Assert.Contains("output             tied to token_embd", lines);
        Assert.Contains("qkv bias           yes", lines);
        Assert.Contains("tokenizer          gpt2-bpe, 40 tokens, BOS none, EOS none, add BOS no, chat template no", lines);

        // Header and rows share column starts; Q8_0 rows of 64 take 2 blocks of 34 bytes.
        string header = lines.Single(l => l.StartsWith("name ") && l.EndsWith("bytes"));
        string q = lines.Single(l => l.StartsWith("blk.0.attn_q.weight "));
        Assert.Equal(header.IndexOf("type"), q.IndexOf("Q8_0"));
        Assert.Equal(header.IndexOf("dims"), q.IndexOf("64 × 64"));
        Assert.EndsWith(" 4,352", q); // 64 rows × 68 bytes
        Assert.Equal(header.Length, q.Length);
        string norm = lines.Single(l => l.StartsWith("blk.1.attn_norm.weight "));
        Assert.Contains(" F32 ", norm);
        Assert.Matches(@"^\d+ tensors, [\d,]+ bytes \(\d+\.\d\d MiB\)", lines.Single(l => l.Contains(" tensors, ")));
    }

    [Fact]
    public void ABrokenTokenizerDoesNotHideTheRest()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        new TinyGguf().Write(path); // no tokenizer.ggml.* keys at all
        string text = Inspect(path);
        Assert.Contains("tokenizer          unreadable: ", text);
        Assert.Contains("tokenizer.ggml.model", text);
        Assert.Contains("token_embd.weight", text);
    }

    [Fact]
    public void CommandLineReportsABadFileWithoutAStackTrace()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("bad.gguf", "GGUF\u0003"u8.ToArray());
        var root = new System.CommandLine.RootCommand();
        root.Subcommands.Add(InspectCommand.Create());
        TextWriter stderr = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            Assert.Equal(1, CliRunner.Run(root, ["inspect", path]));
        }
        finally
        {
            Console.SetError(stderr);
        }
        Assert.StartsWith($"error: {path}: truncated", captured.ToString());
        Assert.Single(captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)); // one line, no stack trace
    }
}
