using System.CommandLine;
using System.Diagnostics;
using SpecDec.Tools.Quantization;

namespace SpecDec.Cli.Commands;

/// <summary>`specdec quantize IN.gguf OUT.gguf --type T`: re-encode a GGUF's weights (see QuantPlan for the rules).</summary>
public static class QuantizeCommand
{
    public static Command Create()
    {
        var input = new Argument<FileInfo>("input") { Description = "GGUF file to read" };
        var output = new Argument<FileInfo>("output") { Description = "GGUF file to write" };
        var type = new Option<string>("--type")
        {
            Description = $"weight type: {QuantPlan.Names} (q2_k … iq4_xs: llama.cpp's mixes of the same names)",
            Required = true,
        };
        var command = new Command("quantize", "Convert a GGUF model's weights to another type");
        command.Arguments.Add(input);
        command.Arguments.Add(output);
        command.Options.Add(type);
        command.SetAction(parse =>
        {
            QuantScheme scheme = QuantPlan.Parse(parse.GetValue(type)!);
            FileInfo from = parse.GetValue(input)!, to = parse.GetValue(output)!;
            InputFile.Require(from.ToString(), "input", "a .gguf file");
            var clock = Stopwatch.StartNew();
            using var signals = new SignalCancellation();
            GgufQuantizer.Quantize(from.FullName, to.FullName, scheme,
                (tensor, written) => Console.Error.WriteLine($"{tensor.Name,-28} {tensor.Type,-5} → {written,-5} [{string.Join(", ", tensor.Dims)}]"), signals.Token);
            Console.Error.WriteLine($"wrote {to.FullName} ({new FileInfo(to.FullName).Length / 1e9:F2} GB) in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return command;
    }
}
