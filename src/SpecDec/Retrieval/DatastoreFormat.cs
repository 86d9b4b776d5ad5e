using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SpecDec.Retrieval;

/// <summary>
/// The datastore file, little-endian:
/// <code>
///  0  "SDDS"                magic
///  4  u32 version           1
///  8  u64 tokenizer         TokenizerFingerprint of the tokenizer that made the ids
/// 16  u32 vocabulary size
/// 20  u32 token width       2 (ids fit u16; separator 0xFFFF) or 4 (separator 0xFFFFFFFF)
/// 24  u64 tokens n          documents, each followed by one separator
/// 32  u64 suffixes m        positions of the non-separator tokens, sorted by the text that starts there
/// 40  u64 checksum          of every byte after the header
/// 48  tokens [n × width], zero-padded to a multiple of 4 bytes
///     suffixes [m × u32]
/// </code>
/// The separator sorts above every id, so no match runs across a document's end.
/// </summary>
internal static class DatastoreFormat
{
    public static ReadOnlySpan<byte> Magic => "SDDS"u8;
    public const uint Version = 1;
    public const int HeaderBytes = 48;

    public static long TokenBytes(long tokens, int width) => (tokens * width + 3) / 4 * 4;

    public static long FileBytes(long tokens, int width, long suffixes) => HeaderBytes + TokenBytes(tokens, width) + suffixes * 4;

    /// <summary>A 64-bit checksum of <paramref name="length"/> bytes at <paramref name="data"/>: eight bytes at a time, multiply-rotate mixing.</summary>
    public static unsafe ulong Checksum(byte* data, long length)
    {
        const ulong P1 = 0x9E3779B185EBCA87UL, P2 = 0xC2B2AE3D27D4EB4FUL;
        ulong h = P2 ^ (ulong)length;
        long words = length / 8;
        for (long i = 0; i < words; i++) h = BitOperations.RotateLeft(h ^ (Unsafe.ReadUnaligned<ulong>(data + i * 8) * P1), 31) * P2;
        for (long i = words * 8; i < length; i++) h = BitOperations.RotateLeft(h ^ (data[i] * P1), 31) * P2;
        return h ^ (h >> 29);
    }

    public static void WriteHeader(Span<byte> header, ulong tokenizer, int vocab, int width, long tokens, long suffixes, ulong checksum)
    {
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Version);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], tokenizer);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)vocab);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)width);
        BinaryPrimitives.WriteUInt64LittleEndian(header[24..], (ulong)tokens);
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], (ulong)suffixes);
        BinaryPrimitives.WriteUInt64LittleEndian(header[40..], checksum);
    }
}
