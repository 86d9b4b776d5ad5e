using CsCheck;
using SpecDec.Cli.Commands;
using SpecDec.Tests.Tools.Benchmarking;

namespace SpecDec.Tests.Fuzzing;

/// <summary>
/// Random combinations and values of `generate`'s options, valid and not, on the bundled tiny model with few new
/// tokens: every run ends with exit code 0, or 1 with exactly one `error:` line and nothing on stdout; never
/// another exception or a hang.
/// </summary>
public sealed class GenerateOptionsPropertyTests
{
    private static readonly string Model = Path.Combine(RepoPaths.Root, "models", "draft-tiny-q8_0.gguf");

    /// <summary>Each option with values to draw from: ordinary ones, boundaries and nonsense.</summary>
    private static readonly (string Name, string[] Values)[] Options =
    [
        ("--temperature", ["0", "0.7", "1", "100", "1e-30", "-1", "NaN", "Infinity"]),
        ("--top-k", ["0", "1", "3", "100000", "-5"]),
        ("--top-p", ["0.3", "1", "0", "2", "-0.5", "NaN"]),
        ("--min-p", ["0", "0.5", "1", "2", "-1", "NaN"]),
        ("--repeat-penalty", ["1", "1.3", "0.5", "0", "-1", "1e30", "NaN"]),
        ("--seed", ["0", "1", "18446744073709551615", "-1", "x"]),
        ("--threads", ["1", "2", "0", "-1", "1000"]),
        ("--cache-type", ["f32", "f16", "q8"]),
        ("--spec", ["none", "draft", "pld", "lookahead", "rest", "layerskip", "auto", "bogus"]),
        ("--draft-model", [Model, "/no/such/model.gguf", RepoPaths.Root]),
        ("--draft-max", ["1", "4", "0", "-1", "1000"]),
        ("--draft-min", ["1", "4", "0", "-1", "1000"]),
        ("--draft-p-min", ["0", "0.5", "1", "2", "-1", "NaN"]),
        ("--draft-context", ["0", "1", "8", "-1"]),
        ("--ngram-min", ["1", "3", "0", "-1", "100"]),
        ("--ngram-max", ["1", "3", "0", "-1", "100"]),
        ("--draft-tree", []),
        ("--tree-nodes", ["1", "16", "0", "-1", "100000"]),
        ("--exit-layer", ["0", "1", "-1", "99"]),
        ("--lookahead-window", ["1", "5", "0", "70"]),
        ("--lookahead-ngram", ["3", "5", "2", "17"]),
        ("--lookahead-guesses", ["1", "4", "0", "40"]),
        ("--stop", ["a", "\n", ""]),
        ("--stats", []),
        ("--no-warmup", []),
    ];

    private static readonly string[] Prompts = ["def fib(n):", "ab ab ab ab ab ab ab ab", "x", "", " \n\t", "<|endoftext|>", "é😀"];
    private static readonly string[] MaxTokens = ["4", "1", "3", "0", "-1", "2147483647x"];

    /// <summary>
    /// Arguments from one choice per option (below 80 leaves it out, so shrinking drops options), a prompt and
    /// a small --max-tokens (whose default of 256 would take too long).
    /// </summary>
    private static readonly Gen<string[]> Args =
        Gen.Select(Gen.Int[0, 99].Array[Options.Length], Gen.Int[0, Prompts.Length - 1], Gen.Int[0, MaxTokens.Length - 1],
            (picks, prompt, maxTokens) =>
            {
                var args = new List<string> { "generate", "--model", Model, "--prompt", Prompts[prompt], "--max-tokens", MaxTokens[maxTokens] };
                for (int i = 0; i < Options.Length; i++)
                {
                    if (picks[i] < 80) continue;
                    args.Add(Options[i].Name);
                    if (Options[i].Values.Length > 0) args.Add(Options[i].Values[picks[i] % Options[i].Values.Length]);
                }
                return args.ToArray();
            });

    [Fact]
    public void EveryCombinationRunsOrFailsWithOneError()
    {
        int ran = 0, refused = 0;
        PropertyCheck.ForAll(Args, args =>
        {
            string input = string.Join(' ', args.Select(a => $"'{a}'"));
            var (code, output, error) = FuzzCase.Within(() => CommandInvocation.RunCli(GenerateCommand.Create(), args), input);
            if (code == 0)
            {
                Assert.DoesNotContain("error:", error);
                ran++;
                return;
            }
            Assert.True(code == 1, $"exit code {code} for {input}");
            Assert.True(output == "", $"stdout {output} with an error for {input}");
            string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", line);
            refused++;
        }, seed: 16, cases: 400);
        Assert.True(ran > 30, $"only {ran} runs succeeded");
        Assert.True(refused > 30, $"only {refused} runs refused");
    }
}
