using System.CommandLine;
using System.Text;
using SpecDec.Cli.Perf;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec perf --model PATH [--json] [--threads N] [--context N] [--cache-type f32|f16]`: prefill and decode speed, the verification cost curve
/// c(k), achieved GB/s against the machine's measured read bandwidth, and peak RSS.
/// </summary>
public static class PerfCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo?>("--model") { Description = $"GGUF model file (default: {BundledFiles.Target})" };
        var json = new Option<bool>("--json") { Description = "print the results as JSON on stdout (progress still goes to stderr)" };
        var threads = ThreadsOption.Create();
        var context = new Option<int>("--context")
        {
            Description = "prompt tokens prefilled before the decode steps and c(k), i.e. the context they run at",
            DefaultValueFactory = _ => PerfRunner.DefaultPromptTokens,
        };
        var cacheType = CacheTypeOption.Create();
        var command = new Command("perf", "Measure prefill, decode and verification speed of a model on this machine");
        foreach (Option option in new Option[] { model, json, threads, context, cacheType }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            int n = ThreadsOption.Resolve(parse, threads);
            FileInfo file = parse.GetValue(model) ?? new FileInfo(BundledFiles.Require(BundledFiles.Target, "--model"));
            InputFile.Require(file.ToString(), "--model", "a .gguf file");
            int prompt = parse.GetValue(context);
            if (prompt < 1) throw new SpecDecException($"--context must be at least 1, not {prompt}");
            TextWriter stdout = parse.InvocationConfiguration.Output, stderr = parse.InvocationConfiguration.Error;
            PerfReport report = PerfRunner.Run(file.FullName, n, stderr.WriteLine, prompt, CacheTypeOption.Parse(parse.GetValue(cacheType)));
            if (parse.GetValue(json))
            {
                var buffer = new MemoryStream();
                report.WriteJson(buffer);
                stdout.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
            }
            else report.WriteTable(stdout);
            return 0;
        });
        return command;
    }
}
