using System.CommandLine;
using SpecDec.Cli.Perf;

namespace SpecDec.Cli.Commands;

/// <summary>
/// `specdec parity --model PATH [--head PATH] [--gpu N]`: the model on the CPU and on the GPU, compared on every kind of
/// batch a generation runs (<see cref="BackendParity"/>); with --head, an EAGLE head beside it, compared on what EAGLE's
/// drafting feeds it (<see cref="HeadParity"/>). Exit 0 when it holds, 3 when a check fails.
/// </summary>
public static class ParityCommand
{
    /// <summary>Exit code when the GPU's results differ from the CPU's beyond the tolerance.</summary>
    public const int ParityFailure = 3;

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = $"GGUF file or Hugging Face folder (default: {BundledFiles.Target})" };
        var head = new Option<string?>("--head") { Description = "an EAGLE head for the model: compare the head instead (its drafts, logits and states)" };
        var gpu = new Option<int>("--gpu") { Description = "which GPU (0 is the first)", DefaultValueFactory = _ => 0 };
        var command = new Command("parity", "Check that a model's logits on the GPU (--device cuda) match the CPU backend's");
        command.Options.Add(model);
        command.Options.Add(head);
        command.Options.Add(gpu);
        command.SetAction(parse =>
        {
            string path = parse.GetValue(model) ?? BundledFiles.Require(BundledFiles.Target, "--model");
            var device = Backends.Cuda.CudaDevice.Open(parse.GetValue(gpu));
            TextWriter o = parse.InvocationConfiguration.Output;
            string? headPath = parse.GetValue(head);
            var result = headPath is null
                ? BackendParity.Run(path, device, parse.InvocationConfiguration.Error.WriteLine)
                : HeadParity.Run(path, headPath, device, parse.InvocationConfiguration.Error.WriteLine);
            if (headPath is not null) path = $"the EAGLE head {headPath} beside {path}";
            o.WriteLine($"parity of {path} on {device} against the CPU backend (tolerance {result.Tolerance:E0} of the largest logit)");
            foreach (var check in result.Checks) o.WriteLine(check);
            o.WriteLine(result.Passed ? "parity: passed" : "parity: FAILED");
            return result.Passed ? 0 : ParityFailure;
        });
        return command;
    }
}
