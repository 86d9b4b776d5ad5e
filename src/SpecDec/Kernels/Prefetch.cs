using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace SpecDec.Kernels;

/// <summary>
/// Software prefetch of a weight stream a fixed distance ahead of where a matmul reads it. Once the weights in
/// hand take several activation rows of arithmetic, the hardware prefetcher alone keeps too few lines in flight
/// and the loads stall: on the 1B-shape Q8_0 file a forward of 8 tokens took 87–94 ms without it and 65–69 ms
/// with it, a single token the same (2026-11-27, Zen 5, 2 threads).
/// </summary>
internal static unsafe class Prefetch
{
    /// <summary>Bytes ahead of the read position: 2048 was too close, 8192 no better.</summary>
    public const int Ahead = 4096;

    /// <summary>
    /// The <paramref name="lines"/> (1 to 5, a constant at every call) cache lines from <see cref="Ahead"/> bytes past
    /// <paramref name="p"/>, into L1; written out so that the inlined call is just the prefetches.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lines(byte* p, int lines)
    {
        if (!Sse.IsSupported) return; // a JIT-time constant: nothing is emitted off x86
        byte* a = p + Ahead;
        Sse.Prefetch0(a);
        if (lines > 1) Sse.Prefetch0(a + 64);
        if (lines > 2) Sse.Prefetch0(a + 128);
        if (lines > 3) Sse.Prefetch0(a + 192);
        if (lines > 4) Sse.Prefetch0(a + 256);
    }

    /// <summary>Every cache line of [p, p + bytes) moved <see cref="Ahead"/> bytes on: called per weight row, it keeps a stream of rows prefetched.</summary>
    public static void Range(byte* p, long bytes)
    {
        if (!Sse.IsSupported) return;
        for (long o = 0; o < bytes; o += 64) Sse.Prefetch0(p + Ahead + o);
    }
}
