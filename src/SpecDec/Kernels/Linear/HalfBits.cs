using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SpecDec.Tensors;

namespace SpecDec.Kernels.Linear;

/// <summary>
/// F16 weights read as raw bits, for <see cref="FloatMatmul"/>. A half's bits shifted left by 13
/// (sign-extended, the three sign copies cleared) are a float whose value is the half's times 2^−112, exactly, for
/// every finite half: normals, subnormals and zeros alike. Multiplied by an activation scaled by 2^112, each
/// product is then the same real number as half × activation, so every fused multiply-add rounds the same and the
/// sum has the same bits as with exactly converted weights, for 2 instructions per 16 weights instead of 13.
/// Two things break the identity, and both send the call back to exact conversion: a weight that is Inf or NaN
/// (<see cref="AllFinite(ushort*, long)"/>, checked once at load), and an activation of magnitude 2^16 or more, which would
/// overflow when scaled (<see cref="ScaleActivations"/>, checked per call). Subnormal halves become subnormal
/// float operands of the multiply-adds, which measured no slower on this project's Zen 5 host.
/// </summary>
public static unsafe class HalfBits
{
    /// <summary>2^112: 2^(127 − 15), the difference of the float and half exponent biases.</summary>
    static float Scale => BitConverter.Int32BitsToSingle((127 + 112) << 23);

    /// <summary>Activations of this magnitude or more would overflow when scaled by 2^112.</summary>
    const float ActivationLimit = 65536f;

    /// <summary>The half with these bits, times 2^−112, as a float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scaled(short bits) => BitConverter.Int32BitsToSingle(bits << 13 & unchecked((int)0x8fffffff));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Scaled(Vector512<int> bits) => (bits << 13 & Vector512.Create(unchecked((int)0x8fffffff))).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Scaled(Vector256<int> bits) => (bits << 13 & Vector256.Create(unchecked((int)0x8fffffff))).AsSingle();

    /// <summary>Whether none of the <paramref name="count"/> halves at <paramref name="p"/> is Inf or NaN (exponent bits all set).</summary>
    public static bool AllFinite(ushort* p, long count)
    {
        var exponent = Vector256.Create((ushort)0x7c00);
        long i = 0;
        for (; i + 16 <= count; i += 16)
            if (Vector256.EqualsAny(Vector256.Load(p + i) & exponent, exponent)) return false;
        for (; i < count; i++)
            if ((p[i] & 0x7c00) == 0x7c00) return false;
        return true;
    }

    /// <summary>
    /// For each F16 weight, whether all its values are finite, reading them over the pool: at load this is the first
    /// touch of every mapped page, which costs more than the comparisons, so it is split into 1 MB pieces.
    /// </summary>
    public static bool[] AllFinite(WorkerPool pool, ReadOnlySpan<LinearWeight> weights)
    {
        long total = 0;
        foreach (LinearWeight w in weights) total += (long)w.Rows * w.Columns;
        long piece = Math.Max(1 << 19, (total + WorkerPool.MaxItems - 1) / WorkerPool.MaxItems); // halves per item
        int items = 0;
        foreach (LinearWeight w in weights) items += (int)(((long)w.Rows * w.Columns + piece - 1) / piece);
        using var data = new NativeBuffer<nint>(items);  // [items] first half of each piece
        using var counts = new NativeBuffer<long>(items); // [items] halves in it
        using var owner = new NativeBuffer<int>(items);   // [items] which weight it belongs to
        using var bad = new NativeBuffer<int>(weights.Length); // [weights] 1 once an Inf or NaN is seen
        int item = 0;
        for (int i = 0; i < weights.Length; i++)
            for (long at = 0, n = (long)weights[i].Rows * weights[i].Columns; at < n; at += piece, item++)
            {
                data.Pointer[item] = (nint)((ushort*)weights[i].Data + at);
                counts.Pointer[item] = Math.Min(piece, n - at);
                owner.Pointer[item] = i;
            }
        pool.For(items, new FiniteScan { Data = data.Pointer, Counts = counts.Pointer, Owner = owner.Pointer, Bad = bad.Pointer });
        var finite = new bool[weights.Length];
        for (int i = 0; i < finite.Length; i++) finite[i] = bad.Pointer[i] == 0;
        return finite;
    }

    struct FiniteScan : IParallelJob
    {
        public nint* Data;
        public long* Counts;
        public int* Owner;
        public int* Bad;

        public void Execute(int index, int thread)
        {
            if (!AllFinite((ushort*)Data[index], Counts[index])) Bad[Owner[index]] = 1;
        }
    }

    /// <summary>
    /// dst[0..n) = x · 2^112, unless some |x| ≥ 2^16 or is NaN: then false, and the caller converts the weights exactly.
    /// </summary>
    public static bool ScaleActivations(float* x, int n, float* dst)
    {
        Vector256<float> limit = Vector256.Create(ActivationLimit), scale = Vector256.Create(Scale);
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            Vector256<float> v = Vector256.Load(x + i);
            if (!Vector256.LessThanAll(Vector256.Abs(v), limit)) return false; // NaN compares false too
            (v * scale).Store(dst + i);
        }
        for (; i < n; i++)
        {
            if (!(MathF.Abs(x[i]) < ActivationLimit)) return false;
            dst[i] = x[i] * Scale;
        }
        return true;
    }
}
