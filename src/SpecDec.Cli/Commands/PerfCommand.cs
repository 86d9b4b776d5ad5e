using System.CommandLine;
using System.Text;
using SpecDec.Cli.Perf;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec perf --model PATH [--json] [--threads N] [--context N] [--cache-type f32|f16] [--device cpu|cuda] [--gpu N] [--kernels]`: prefill and decode speed, the verification cost curve
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
        var device = new DeviceOption();
        var kernels = new Option<bool>("--kernels") { Description = "with --device cuda: time the matmul kernels alone at the model's matrix sizes, for 1, 8 and 64 rows, instead of the model" };
        var command = new Command("perf", "Measure prefill, decode and verification speed of a model on this machine");
        foreach (Option option in new Option[] { model, json, threads, context, cacheType, kernels }.Concat(device.Options)) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var gpu = device.Open(parse);
            if (parse.GetValue(kernels))
            {
                if (gpu is null) throw new SpecDecException("--kernels needs --device cuda");
                KernelTimes.Write(gpu, parse.InvocationConfiguration.Output);
                return 0;
            }
            int n = ThreadsOption.Resolve(parse, threads);
            FileInfo file = parse.GetValue(model) ?? new FileInfo(BundledFiles.Require(BundledFiles.Target, "--model"));
            InputFile.Require(file.ToString(), "--model", "a .gguf file");
            int prompt = parse.GetValue(context);
            if (prompt < 1) throw new SpecDecException($"--context must be at least 1, not {prompt}");
            TextWriter stdout = parse.InvocationConfiguration.Output, stderr = parse.InvocationConfiguration.Error;
            PerfReport report = PerfRunner.Run(file.FullName, n, stderr.WriteLine, prompt, CacheTypeOption.Parse(parse.GetValue(cacheType)), gpu);
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
