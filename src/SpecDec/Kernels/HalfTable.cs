using System.Runtime.InteropServices;

namespace SpecDec.Kernels;

/// <summary>Every fp16 bit pattern as f32 (256 KB, native, built once): one load converts a block scale.</summary>
internal static unsafe class HalfTable
{
    public static readonly float* Pointer = Build();

    static float* Build()
    {
        var table = (float*)NativeMemory.AlignedAlloc(65536 * sizeof(float), 64);
        for (int i = 0; i < 65536; i++) table[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        return table;
    }
}
