using System.CommandLine;
using System.Diagnostics;
using SpecDec.Formats;
using SpecDec.Model;
using SpecDec.Model.Heads;
using SpecDec.Tensors;
using SpecDec.Tools.Conversion;

namespace SpecDec.Cli.Commands;

/// <summary>`specdec convert SRC OUT.gguf --type f32|f16|bf16|q8_0`: a Hugging Face folder to a GGUF llama.cpp can load.</summary>
public static class ConvertCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("source") { Description = "Hugging Face model folder (or its config.json), or a draft head: an EAGLE or Medusa folder, or a head GGUF to re-quantize" };
        var output = new Argument<string>("output") { Description = "GGUF file to write" };
        var type = new Option<string>("--type")
        {
            Description = "type of the 2-D weights: f32, f16, bf16 or q8_0 (norms and biases stay f32)",
            DefaultValueFactory = _ => "f16", // llama.cpp's converter default
        };
        var baseModel = new Option<string?>("--base") { Description = "for a draft head: the model it was trained for, whose vocabulary fingerprint the GGUF records so the head is refused on another model" };
        var draftVocab = new Option<int?>("--draft-vocab")
        {
            Description = "for an EAGLE head: keep only the N tokens most frequent in --draft-vocab-text as its draft vocabulary (EAGLE-3's d2t; its logits then cost N/V of the output head's); needs --base for the tokenizer",
        };
        var draftVocabText = new Option<string[]>("--draft-vocab-text")
        {
            Description = "with --draft-vocab: UTF-8 text files whose tokens are counted (each file weighs the same); use training text, never held-out or benchmark text",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("convert", "Convert a Hugging Face model folder, or an EAGLE or Medusa head (folder in the reference layout), to GGUF");
        command.Arguments.Add(source);
        command.Arguments.Add(output);
        command.Options.Add(type);
        command.Options.Add(baseModel);
        command.Options.Add(draftVocab);
        command.Options.Add(draftVocabText);
        command.SetAction(parse =>
        {
            GgmlType weights = ParseType(parse.GetValue(type)!);
            string to = parse.GetValue(output)!;
            var clock = Stopwatch.StartNew();
            using var signals = new SignalCancellation();
            string from = parse.GetValue(source)!;
            string? basePath = parse.GetValue(baseModel);
            int? vocabSize = parse.GetValue(draftVocab);
            string[] texts = parse.GetValue(draftVocabText) ?? [];
            if (vocabSize is null != (texts.Length == 0)) throw new SpecDecException("--draft-vocab and --draft-vocab-text go together");
            if (vocabSize is not null && (basePath is null || !HeadFile.IsHead(from)))
                throw new SpecDecException("--draft-vocab applies to an EAGLE head converted with --base (whose tokenizer counts the text)");
            if (HeadFile.IsHead(from))
                HeadConverter.Convert(from, to, weights, basePath, line => Console.Error.WriteLine(line), signals.Token,
                    vocabSize is int n ? CountDraftVocab(basePath!, texts, n) : null);
            else if (basePath is not null) throw new SpecDecException($"--base applies to draft heads; {from} is a model");
            else GgufConverter.Convert(from, to, weights, line => Console.Error.WriteLine(line), signals.Token);
            Console.Error.WriteLine($"wrote {to} ({new FileInfo(to).Length / (1024.0 * 1024.0):F2} MiB) in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return command;
    }

    private static int[] CountDraftVocab(string baseModel, string[] texts, int size)
    {
        using IModelSource b = ModelSource.Open(baseModel);
        int[] ids = DraftVocabulary.FromText(b.Tokenizer, b.Config.VocabSize, texts, size);
        Console.Error.WriteLine($"draft vocabulary: the {ids.Length} most frequent of {b.Config.VocabSize} tokens in {texts.Length} text file(s)");
        return ids;
    }

    private static GgmlType ParseType(string name)
    {
        foreach (GgmlType t in GgufConverter.WeightTypes)
        {
            if (t.ToString().Equals(name, StringComparison.OrdinalIgnoreCase)) return t;
        }
        throw new SpecDecException($"--type {name} is not one of {string.Join(", ", GgufConverter.WeightTypes.Select(t => t.ToString().ToLowerInvariant()))}");
    }
}
