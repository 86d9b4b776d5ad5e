using System.CommandLine;
using SpecDec.Cli.Perf;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec perf --model PATH [--json] [--threads N]`: prefill and decode speed, the verification cost curve
/// c(k), achieved GB/s against the machine's measured read bandwidth, and peak RSS.
/// </summary>
public static class PerfCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "GGUF model file", Required = true };
        var json = new Option<bool>("--json") { Description = "print the results as JSON on stdout (progress still goes to stderr)" };
        var threads = new Option<int>("--threads") { Description = "worker threads (0: one per processor)", DefaultValueFactory = _ => 0 };
        var command = new Command("perf", "Measure prefill, decode and verification speed of a model on this machine");
        command.Options.Add(model);
        command.Options.Add(json);
        command.Options.Add(threads);
        command.SetAction(parse =>
        {
            FileInfo file = parse.GetValue(model)!;
            if (!file.Exists) throw new FileNotFoundException($"{file.FullName}: no such file");
            int n = parse.GetValue(threads);
            if (n < 0) throw new SpecDecException($"--threads must be 0 or more, not {n}");
            PerfReport report = PerfRunner.Run(file.FullName, n, message => Console.Error.WriteLine(message));
            if (parse.GetValue(json))
            {
                using Stream stdout = Console.OpenStandardOutput();
                report.WriteJson(stdout);
                stdout.Write("\n"u8);
            }
            else report.WriteTable(Console.Out);
            return 0;
        });
        return command;
    }
}
