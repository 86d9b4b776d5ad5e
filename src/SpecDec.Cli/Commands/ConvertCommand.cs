using System.CommandLine;
using System.Diagnostics;
using SpecDec.Formats;
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
        var command = new Command("convert", "Convert a Hugging Face model folder, or an EAGLE or Medusa head (folder in the reference layout), to GGUF");
        command.Arguments.Add(source);
        command.Arguments.Add(output);
        command.Options.Add(type);
        command.Options.Add(baseModel);
        command.SetAction(parse =>
        {
            GgmlType weights = ParseType(parse.GetValue(type)!);
            string to = parse.GetValue(output)!;
            var clock = Stopwatch.StartNew();
            using var signals = new SignalCancellation();
            string from = parse.GetValue(source)!;
            string? basePath = parse.GetValue(baseModel);
            if (HeadFile.IsHead(from)) HeadConverter.Convert(from, to, weights, basePath, line => Console.Error.WriteLine(line), signals.Token);
            else if (basePath is not null) throw new SpecDecException($"--base applies to draft heads; {from} is a model");
            else GgufConverter.Convert(from, to, weights, line => Console.Error.WriteLine(line), signals.Token);
            Console.Error.WriteLine($"wrote {to} ({new FileInfo(to).Length / (1024.0 * 1024.0):F2} MiB) in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return command;
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
