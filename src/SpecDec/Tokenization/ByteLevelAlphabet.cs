namespace SpecDec.Tokenization;

/// <summary>
/// GPT-2's bytes_to_unicode: each of the 256 byte values as one printable char, so byte-level BPE vocabularies
/// are strings ("Ġ" is the space byte 0x20, "Ċ" is '\n'). Printable Latin-1 bytes map to themselves; the
/// other 68 map to U+0100.. in byte order.
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>[256] byte → char.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>[0x144] char → byte, -1 where the char is not in the alphabet.</summary>
    private static readonly short[] CharToByteTable = BuildCharToByte();

    /// <summary>The byte a vocabulary char stands for, or -1 when the char is not one of the 256.</summary>
    public static int CharToByte(char c) => c < CharToByteTable.Length ? CharToByteTable[c] : -1;

    /// <summary>
    /// The bytes a byte-level token stands for, as Hugging Face's ByteLevel decoder computes them: mapped char
    /// by char, or the token's own UTF-8 when any char is outside the alphabet (added tokens like "&lt;|im end|&gt;").
    /// </summary>
    public static byte[] TokenToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            int b = CharToByte(token[i]);
            if (b < 0) return System.Text.Encoding.UTF8.GetBytes(token);
            bytes[i] = (byte)b;
        }
        return bytes;
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var table = new short[0x144];
        Array.Fill(table, (short)-1);
        for (int b = 0; b < 256; b++) table[ByteToChar[b]] = (short)b;
        return table;
    }
}
