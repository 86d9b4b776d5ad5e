using System.Security.Cryptography;
using CsCheck;
using SpecDec.Cli.Commands;
using SpecDec.Formats.Gguf;
using SpecDec.Tests.Formats;
using SpecDec.Tests.Tools.Synthetic;
using SpecDec.Tools.Quantization;
using SpecDec.Tools.Synthetic;

namespace SpecDec.Tests.Fuzzing;

/// <summary>
/// `quantize` with random types and output paths (new, the input itself, an existing file, a folder, a missing
/// folder): every run either writes a readable GGUF, or fails with one `error:` line and leaves every file as it
/// was; neither way leaves a partial file behind, and the input never changes.
/// </summary>
public sealed class QuantizeOutputPropertyTests : IDisposable
{
    private static readonly string[] Types = ["q8_0", "q4_0", "q4_k", "q6_k", "q4_k_m", "f16", "bf16", "q3_k", ""];
    private static readonly string[] Outputs = ["out.gguf", "in.gguf", "other.gguf", "folder", "missing/out.gguf", "folder/out.gguf", "out.gguf.partial"];

    private readonly TempDirectory _dir = new();
    private readonly string _input;

    public QuantizeOutputPropertyTests()
    {
        _input = _dir.File("in.gguf");
        SyntheticModel.Write(TinyShapes.Qwen2, QuantScheme.F16, _input);
        Directory.CreateDirectory(_dir.File("folder"));
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EveryOutputIsWholeOrAbsent()
    {
        byte[] input = SHA256.HashData(File.ReadAllBytes(_input));
        int wrote = 0, refused = 0;
        PropertyCheck.ForAll(Gen.Select(Gen.Int[0, Types.Length - 1], Gen.Int[0, Outputs.Length - 1]), pick =>
        {
            string output = _dir.File(Outputs[pick.Item2]);
            File.WriteAllText(_dir.File("other.gguf"), "not a model");
            if (File.Exists(output) && Outputs[pick.Item2] != "in.gguf" && Outputs[pick.Item2] != "other.gguf") File.Delete(output);
            var before = Snapshot();
            string[] args = ["quantize", _input, output, "--type", Types[pick.Item1]];
            var (code, stdout, error) = FuzzCase.Within(() => CommandInvocation.RunCli(QuantizeCommand.Create(), args), string.Join(' ', args));

            Assert.Equal(input, SHA256.HashData(File.ReadAllBytes(_input)));
            Assert.DoesNotContain(Snapshot().Keys, f => f.EndsWith(".partial", StringComparison.Ordinal) && f != output && !before.ContainsKey(f));
            if (code == 0)
            {
                using var file = GgufFile.Open(output);
                Assert.NotEmpty(file.Tensors);
                wrote++;
                return;
            }
            Assert.Equal(1, code);
            Assert.Equal("", stdout);
            Assert.StartsWith("error: ", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            Assert.Equal(before, Snapshot()); // a refusal changes no file
            refused++;
        }, seed: 11, cases: 40);
        Assert.True(wrote > 0 && refused > 0, $"{wrote} written, {refused} refused: the cases should cover both");
    }

    /// <summary>Every file under the folder with a hash of its bytes.</summary>
    private Dictionary<string, string> Snapshot() =>
        Directory.GetFiles(_dir.Path, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
}
