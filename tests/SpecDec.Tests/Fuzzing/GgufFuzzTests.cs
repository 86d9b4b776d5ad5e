using SpecDec.Formats.Gguf;
using SpecDec.Model;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Fuzzing;

/// <summary>
/// Mutated and truncated copies of a valid GGUF (fixed seed, thousands of cases): every outcome must be a
/// parsed header or a ModelFormatException; anything else (overflow, out-of-memory, index errors, a hang)
/// fails the test.
/// </summary>
public sealed class GgufFuzzTests
{
    internal static byte[] Seed()
    {
        var b = new SpecBytes().Header(3, 3, 8)
            .Key("general.architecture", 8).Str("llama")
            .Key("general.alignment", 4).U32(32)
            .Key("llama.block_count", 4).U32(1)
            .Key("llama.rope.freq_base", 6).F32(10000f)
            .Key("tokenizer.ggml.tokens", 9).U32(8).U64(3).Str("<s>").Str("▁a").Str("Ġb")
            .Key("tokenizer.ggml.scores", 9).U32(6).U64(3).F32(0).F32(-1).F32(-2)
            .Key("tokenizer.ggml.add_bos_token", 7).U8(1)
            .Key("nested", 9).U32(9).U64(2).U32(5).U64(1).I32(3).U32(8).U64(1).Str("z")
            .Tensor("token_embd.weight", [32, 2], 0, 0)
            .Tensor("output_norm.weight", [32], 1, 256)
            .Tensor("output.weight", [32, 2], 8, 320)
            .PadTo(32);
        return b.Raw(new byte[320 + 68]).ToArray();
    }

    [Fact]
    public void MutatedHeadersParseOrFailCleanly()
    {
        byte[] seed = Seed();
        GgufParser.Parse(seed, seed.Length, "seed.gguf"); // the seed itself is valid
        var random = new Random(20240611);
        int parsed = 0, refused = 0;
        for (int i = 0; i < 6000; i++)
        {
            byte[] bytes = ByteMutator.Mutate(seed, random, seed.Length - 388); // the header, not the tensor data
            try
            {
                GgufHeader header = GgufParser.Parse(bytes, bytes.Length, "fuzz.gguf");
                foreach (GgufTensorInfo t in header.Tensors)
                    Assert.InRange(header.DataOffset + t.Offset + t.ByteLength, 0, bytes.Length);
                parsed++;
            }
            catch (ModelFormatException e)
            {
                Assert.StartsWith("fuzz.gguf: ", e.Message);
                refused++;
            }
        }
        // Both outcomes occur, so the mutations reach past the magic and into the tensor table.
        Assert.True(parsed > 100, $"only {parsed} mutants parsed");
        Assert.True(refused > 1000, $"only {refused} mutants refused");
    }

    [Fact]
    public void MutatedModelsOpenOrFailCleanly()
    {
        // A whole tiny llama: mutants also reach the config reader and the tensor/config cross-checks.
        byte[] seed = new TinyGguf { Hidden = 32, Heads = 2, KvHeads = 1, Intermediate = 32, Layers = 1, Vocab = 8 }.Bytes();
        int headerLength = (int)GgufParser.Parse(seed, seed.Length, "seed.gguf").DataOffset;
        GgufModelSource.ReadConfig(GgufParser.Parse(seed, seed.Length, "seed.gguf"), "seed.gguf");
        var random = new Random(17);
        int opened = 0;
        for (int i = 0; i < 4000; i++)
        {
            byte[] bytes = ByteMutator.Mutate(seed, random, headerLength);
            try
            {
                GgufHeader header = GgufParser.Parse(bytes, bytes.Length, "fuzz.gguf");
                GgufModelSource.ReadConfig(header, "fuzz.gguf");
                opened++;
            }
            catch (ModelFormatException e)
            {
                Assert.StartsWith("fuzz.gguf: ", e.Message);
            }
        }
        Assert.True(opened > 100, $"only {opened} mutants opened");
    }
}
