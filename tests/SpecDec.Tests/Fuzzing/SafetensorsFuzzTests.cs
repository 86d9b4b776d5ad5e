using System.Buffers.Binary;
using System.Text.Json.Nodes;
using SpecDec.Formats.Safetensors;
using SpecDec.Tests.Formats;

namespace SpecDec.Tests.Fuzzing;

/// <summary>
/// Mutated copies of a valid .safetensors file (fixed seed): the JSON header mutated as bytes and as a structure,
/// and the length prefix set to boundary values. Every outcome must be an opened file whose tensors lie inside it,
/// or a ModelFormatException.
/// </summary>
public sealed class SafetensorsFuzzTests
{
    private const string Header = "{\"__metadata__\":{\"format\":\"pt\"},"
        + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        + "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
        + "\"c\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[32,36]}}";

    [Fact]
    public void MutatedFilesOpenOrFailCleanly()
    {
        byte[] data = new byte[36];
        byte[] seed = SafetensorsBytes.Assemble(Header, data);
        int headerEnd = seed.Length - data.Length;
        JsonNode header = JsonNode.Parse(Header)!;
        using var dir = new TempDirectory();
        var random = new Random(20261206);
        int opened = 0, refused = 0;
        for (int i = 0; i < 1500; i++)
        {
            byte[] bytes = (i % 3) switch
            {
                0 => ByteMutator.Mutate(seed, random, headerEnd),
                1 => SafetensorsBytes.Assemble(JsonMutator.Mutate(header, random), data),
                _ => WithLength(seed, random.Next(2) == 0 ? ByteMutator.Pick(random) : (ulong)(headerEnd - 8 + random.Next(-9, 10))),
            };
            string path = dir.Write($"{i}.safetensors", bytes);
            bool ok = FuzzCase.Run(() =>
            {
                using SafetensorsFile file = SafetensorsFile.Open(path);
                foreach (var t in file.Tensors) Assert.True(t.ByteLength <= bytes.Length, $"{t.Name} is larger than the file");
            }, Convert.ToBase64String(bytes));
            if (ok) opened++;
            else refused++;
        }
        Assert.True(opened > 100, $"only {opened} mutants opened");
        Assert.True(refused > 500, $"only {refused} mutants refused");
    }

    private static byte[] WithLength(byte[] seed, ulong length)
    {
        byte[] bytes = (byte[])seed.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length);
        return bytes;
    }
}
