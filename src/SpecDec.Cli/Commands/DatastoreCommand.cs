using System.CommandLine;
using System.Diagnostics;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Retrieval;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec datastore build INPUT… --out F [--model M] [--max-tokens N]`: tokenises text files (documents
/// separated by lines "&lt;|endoftext|&gt;") or JSONL chat logs with the model's tokenizer into a retrieval
/// datastore (a memory-mapped suffix array) for `--spec rest`.
/// </summary>
public static class DatastoreCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs") { Description = "text files (documents separated by lines <|endoftext|>) or .jsonl chat logs", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "datastore file to write", Required = true };
        var model = new Option<string?>("--model") { Description = $"the model whose tokenizer the store is for (default: {BundledFiles.Target})" };
        var maxTokens = new Option<long>("--max-tokens") { Description = "most tokens taken from each input, documents spread evenly over the file; 0 = all", DefaultValueFactory = _ => 0 };
        var build = new Command("build", "Build a retrieval datastore for --spec rest from text files or JSONL chat logs");
        build.Arguments.Add(inputs);
        foreach (Option option in new Option[] { output, model, maxTokens }) build.Options.Add(option);
        build.SetAction(parse =>
        {
            string[] files = parse.GetValue(inputs)!;
            string outPath = parse.GetValue(output)!;
            long perInput = parse.GetValue(maxTokens);
            if (perInput < 0) throw new SpecDecException($"--max-tokens must be ≥ 0 (got {perInput})");
            for (int i = 0; i < files.Length; i++) files[i] = InputFile.Require(files[i], "datastore input", "a text or .jsonl file");
            string modelPath = parse.GetValue(model) ?? BundledFiles.Require(BundledFiles.Target, "--model");
            OutputFile.CheckNotInput(outPath, [.. files, modelPath]);

            var clock = Stopwatch.StartNew();
            using var source = ModelSource.Open(modelPath);
            var tokens = new List<int>();
            using var signals = new SignalCancellation();
            foreach (string file in files)
            {
                int before = tokens.Count;
                int documents = DatastoreInput.Tokenize(file, source.Tokenizer, perInput, tokens, signals.Token);
                Console.Error.WriteLine($"{file}: {documents} documents, {tokens.Count - before} tokens");
            }
            if (tokens.Count == 0) throw new SpecDecException("the inputs hold no text to store");
            long bytes = 0;
            OutputFile.Write(outPath, stream => bytes = DatastoreWriter.Write(stream, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tokens), source.Tokenizer), signals.Token);
            Console.Error.WriteLine($"wrote {outPath}: {tokens.Count} tokens, {bytes / 1048576.0:F1} MiB in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        var command = new Command("datastore", "Retrieval datastores for --spec rest");
        command.Subcommands.Add(build);
        return command;
    }
}
