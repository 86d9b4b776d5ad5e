using System.CommandLine;
using System.Text;
using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tokenization;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec tokenize`: a text's token ids, as llama.cpp's llama-tokenize prints them. Needs only the tokenizer,
/// so vocabulary-only GGUF files (no tensors, no hyper-parameters) work too.
/// </summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "GGUF file (a vocabulary-only one too), or Hugging Face folder with tokenizer.json", Required = true };
        var prompt = new Option<string?>("--prompt", "-p") { Description = "The text to tokenize" };
        var promptFile = new Option<FileInfo?>("--prompt-file", "-f") { Description = "Tokenize this UTF-8 file's text" };
        var ids = new Option<bool>("--ids") { Description = "Print only the ids, space-separated on one line" };
        var noBos = new Option<bool>("--no-bos") { Description = "Do not add BOS (and EOS) even when the tokenizer adds them" };
        var noParseSpecial = new Option<bool>("--no-parse-special") { Description = "Treat control-token texts in the prompt as plain text" };
        var command = new Command("tokenize", "Print the token ids of a text (as llama.cpp's llama-tokenize)");
        foreach (Option option in new Option[] { model, prompt, promptFile, ids, noBos, noParseSpecial }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            string text = GenerateCommand.ReadPrompt(parse.GetValue(prompt), parse.GetValue(promptFile));
            ITokenizer tokenizer = Open(parse.GetValue(model)!);
            int[] tokens = tokenizer.Encode(text, addSpecial: !parse.GetValue(noBos), parseSpecial: !parse.GetValue(noParseSpecial));
            Write(tokenizer, tokens, parse.GetValue(ids), parse.InvocationConfiguration.Output);
            return 0;
        });
        return command;
    }

    /// <summary>The tokenizer alone: a GGUF's `tokenizer.ggml.*` keys, or a folder's tokenizer.json.</summary>
    public static ITokenizer Open(string path)
    {
        if (Directory.Exists(path)) return TokenizerFactory.FromTokenizerJson(Path.Combine(path, HfModelSource.TokenizerFile));
        if (!File.Exists(path)) throw new FileNotFoundException($"--model {path}: no such file or folder", path);
        if (Path.GetFileName(path) == HfModelSource.ConfigFile)
            return TokenizerFactory.FromTokenizerJson(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, HfModelSource.TokenizerFile));
        if (Path.GetFileName(path) == HfModelSource.TokenizerFile) return TokenizerFactory.FromTokenizerJson(path);
        using GgufFile file = GgufFile.Open(path);
        return TokenizerFactory.FromGgufMetadata(file.Metadata, file.Path);
    }

    /// <summary>`--ids`: one line of space-separated ids; else one "id -> 'text'" line per token (control tokens by name).</summary>
    public static void Write(ITokenizer tokenizer, int[] tokens, bool idsOnly, TextWriter o)
    {
        if (idsOnly)
        {
            o.WriteLine(string.Join(' ', tokens));
            return;
        }
        foreach (int id in tokens)
            o.WriteLine($"{id,6} -> '{(tokenizer.IsSpecial(id) ? tokenizer.TokenText(id) : Encoding.UTF8.GetString(tokenizer.TokenBytes(id)))}'");
    }
}
