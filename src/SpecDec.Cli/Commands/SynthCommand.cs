using System.CommandLine;
using System.Diagnostics;
using SpecDec.Model;
using SpecDec.Tools.Quantization;
using SpecDec.Tools.Synthetic;

namespace SpecDec.Cli.Commands;

/// <summary>`specdec synth --shape NAME --type T --out FILE`: a random-weight GGUF with a real model's dimensions.</summary>
public static class SynthCommand
{
    public static Command Create()
    {
        var shape = new Option<string>("--shape")
        {
            Description = $"model shape: {string.Join(", ", ModelShapes.All.Select(s => s.Name))}",
            Required = true,
        };
        var type = new Option<string>("--type") { Description = $"weight type: {QuantPlan.Names}", DefaultValueFactory = _ => "q8_0" };
        var output = new Option<FileInfo>("--out") { Description = "GGUF file to write", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "random seed (the same seed writes the same file)", DefaultValueFactory = _ => 1 };
        var command = new Command("synth", "Write a random-weight GGUF with the dimensions of a real model, for speed measurements");
        command.Options.Add(shape);
        command.Options.Add(type);
        command.Options.Add(output);
        command.Options.Add(seed);
        command.SetAction(parse =>
        {
            ModelShape s = ModelShapes.Get(parse.GetValue(shape)!);
            QuantScheme scheme = QuantPlan.Parse(parse.GetValue(type)!);
            FileInfo to = parse.GetValue(output)!;
            ModelConfig c = s.Config;
            Console.Error.WriteLine($"{s.Name}: {s.ParameterCount / 1e9:F2} B parameters, {c.LayerCount} layers, hidden {c.HiddenSize}, " +
                                    $"heads {c.HeadCount}/{c.KvHeadCount}, ffn {c.IntermediateSize}, vocab {c.VocabSize} → {scheme}");
            var clock = Stopwatch.StartNew();
            using var signals = new SignalCancellation();
            SyntheticModel.Write(s, scheme, to.FullName, parse.GetValue(seed), signals.Token);
            Console.Error.WriteLine($"wrote {to.FullName} ({new FileInfo(to.FullName).Length / 1e9:F2} GB) in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return command;
    }
}
