using System.Buffers.Binary;
using SpecDec.Formats.Gguf;
using SpecDec.Model;

namespace SpecDec.Tests.Formats.Gguf;

/// <summary>
/// Mutated and truncated copies of a valid GGUF (fixed seed, thousands of cases): every outcome must be a
/// parsed header or a ModelFormatException; anything else (overflow, out-of-memory, index errors, a hang)
/// fails the test.
/// </summary>
public sealed class GgufFuzzTests
{
    private static readonly ulong[] Interesting = [0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 31, 32, 33, 255, 256, 65535,
        0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1ul << 32, 1ul << 40, long.MaxValue, 1ul << 63, ulong.MaxValue];

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
            byte[] bytes = Mutate(seed, random);
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
            byte[] bytes = Mutate(seed, random, headerLength);
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

    private static byte[] Mutate(byte[] seed, Random random) => Mutate(seed, random, seed.Length - 388);

    /// <param name="headerLength">Mutations land in the header; the data section is just bytes.</param>
    private static byte[] Mutate(byte[] seed, Random random, int headerLength)
    {
        byte[] bytes = (byte[])seed.Clone();
        switch (random.Next(5))
        {
            case 0: // flip a few random bits
                for (int k = random.Next(1, 4); k > 0; k--) bytes[random.Next(headerLength)] ^= (byte)(1 << random.Next(8));
                break;
            case 1: // a random byte
                bytes[random.Next(headerLength)] = (byte)random.Next(256);
                break;
            case 2: // an interesting 64-bit value at any offset: counts, lengths, dims, offsets
            {
                int at = random.Next(headerLength - 8);
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), Interesting[random.Next(Interesting.Length)]);
                break;
            }
            case 3: // an interesting 32-bit value: type ids, n_dims, version
            {
                int at = random.Next(headerLength - 4);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)Interesting[random.Next(Interesting.Length)]);
                break;
            }
            default: // truncate anywhere
                Array.Resize(ref bytes, random.Next(bytes.Length));
                break;
        }
        return bytes;
    }
}
