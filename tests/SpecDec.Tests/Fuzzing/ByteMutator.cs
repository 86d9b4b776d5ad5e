using System.Buffers.Binary;

namespace SpecDec.Tests.Fuzzing;

/// <summary>Byte-level mutations shared by the format fuzz tests: bit flips, random bytes, boundary integers, truncation.</summary>
internal static class ByteMutator
{
    private static readonly ulong[] Interesting = [0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 31, 32, 33, 255, 256, 65535,
        0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1ul << 32, 1ul << 40, long.MaxValue, 1ul << 63, ulong.MaxValue];

    /// <param name="end">Mutations land in [0, end) (the header); past it the data is just bytes. Truncation cuts anywhere.</param>
    public static byte[] Mutate(byte[] seed, Random random, int end)
    {
        byte[] bytes = (byte[])seed.Clone();
        switch (random.Next(5))
        {
            case 0: // flip a few random bits
                for (int k = random.Next(1, 4); k > 0; k--) bytes[random.Next(end)] ^= (byte)(1 << random.Next(8));
                break;
            case 1: // a random byte
                bytes[random.Next(end)] = (byte)random.Next(256);
                break;
            case 2: // an interesting 64-bit value at any offset: counts, lengths, dims, offsets
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(random.Next(Math.Max(1, end - 8))), Pick(random));
                break;
            case 3: // an interesting 32-bit value: type ids, n_dims, version
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(random.Next(Math.Max(1, end - 4))), (uint)Pick(random));
                break;
            default: // truncate anywhere
                Array.Resize(ref bytes, random.Next(bytes.Length));
                break;
        }
        return bytes;
    }

    public static ulong Pick(Random random) => Interesting[random.Next(Interesting.Length)];
}
