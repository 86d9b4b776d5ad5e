using System.Runtime.InteropServices;
using SpecDec.Tokenization;

namespace SpecDec.Retrieval;

/// <summary>Writes a datastore (<see cref="DatastoreFormat"/>) from token ids, building its suffix array.</summary>
public static class DatastoreWriter
{
    private static unsafe ulong Checksum(byte[] payload)
    {
        fixed (byte* p = payload) return DatastoreFormat.Checksum(p, payload.LongLength);
    }

    /// <summary>
    /// Writes <paramref name="tokens"/> (documents, each followed by −1) for <paramref name="tokenizer"/> to
    /// <paramref name="output"/>. Returns the bytes written.
    /// </summary>
    public static long Write(Stream output, ReadOnlySpan<int> tokens, ITokenizer tokenizer)
    {
        int vocab = tokenizer.VocabSize;
        foreach (int t in tokens)
            if (t < -1 || t >= vocab) throw new ArgumentOutOfRangeException(nameof(tokens), t, $"token ids must be in [0, {vocab}) or −1");
        int width = vocab < ushort.MaxValue ? 2 : 4;
        uint[] suffixes = SuffixArray.Build(tokens);
        long tokenBytes = DatastoreFormat.TokenBytes(tokens.Length, width);
        var payload = new byte[checked(tokenBytes + (long)suffixes.Length * 4)];
        if (width == 2)
        {
            var ids = MemoryMarshal.Cast<byte, ushort>(payload.AsSpan(0, tokens.Length * 2));
            for (int i = 0; i < tokens.Length; i++) ids[i] = tokens[i] < 0 ? ushort.MaxValue : (ushort)tokens[i];
        }
        else
        {
            var ids = MemoryMarshal.Cast<byte, uint>(payload.AsSpan(0, tokens.Length * 4));
            for (int i = 0; i < tokens.Length; i++) ids[i] = tokens[i] < 0 ? uint.MaxValue : (uint)tokens[i];
        }
        MemoryMarshal.AsBytes(suffixes.AsSpan()).CopyTo(payload.AsSpan((int)tokenBytes));
        Span<byte> header = stackalloc byte[DatastoreFormat.HeaderBytes];
        DatastoreFormat.WriteHeader(header, TokenizerFingerprint.Of(tokenizer), vocab, width, tokens.Length, suffixes.Length,
            Checksum(payload));
        output.Write(header);
        output.Write(payload);
        return header.Length + payload.LongLength;
    }
}
