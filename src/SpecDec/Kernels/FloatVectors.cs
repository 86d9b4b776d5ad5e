using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SpecDec.Kernels;

/// <summary>
/// A float SIMD register of either width, so a float kernel is written once and the JIT specialises it
/// for Vector256 and Vector512 (the struct wrapper is promoted to a register).
/// </summary>
internal unsafe interface IFloatVector<TSelf> where TSelf : unmanaged, IFloatVector<TSelf>
{
    static abstract int Width { get; }
    static abstract TSelf Zero { get; }
    static abstract TSelf Load(float* p);
    static abstract TSelf Broadcast(float value);
    static abstract void Store(TSelf v, float* p);

    /// <summary>a · b + c.</summary>
    static abstract TSelf MulAdd(TSelf a, TSelf b, TSelf c);
    static abstract TSelf Mul(TSelf a, TSelf b);
    static abstract TSelf Max(TSelf a, TSelf b);
    static abstract TSelf Add(TSelf a, TSelf b);
    static abstract TSelf Exp(TSelf v);
    static abstract float Sum(TSelf v);
    static abstract float MaxElement(TSelf v);

    /// <summary>(v1, v0, v3, v2, …): swaps each adjacent pair.</summary>
    static abstract TSelf SwapPairs(TSelf v);
}

internal readonly unsafe struct Float256(Vector256<float> v) : IFloatVector<Float256>
{
    readonly Vector256<float> _v = v;
    public static int Width => 8;
    public static Float256 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Load(float* p) => new(Vector256.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Broadcast(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Float256 v, float* p) => v._v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 MulAdd(Float256 a, Float256 b, Float256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Mul(Float256 a, Float256 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Add(Float256 a, Float256 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Max(Float256 a, Float256 b) => new(Vector256.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float256 Exp(Float256 v) => new(Vector256.Exp(v._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Float256 v) => Vector256.Sum(v._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxElement(Float256 v)
    {
        Vector128<float> m = Vector128.Max(v._v.GetLower(), v._v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(m.ToScalar(), m.GetElement(1));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 SwapPairs(Float256 v) => new(Vector256.Shuffle(v._v, Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6)));
}

internal readonly unsafe struct Float512(Vector512<float> v) : IFloatVector<Float512>
{
    readonly Vector512<float> _v = v;
    public static int Width => 16;
    public static Float512 Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Load(float* p) => new(Vector512.Load(p));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Broadcast(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Float512 v, float* p) => v._v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 MulAdd(Float512 a, Float512 b, Float512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Mul(Float512 a, Float512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Add(Float512 a, Float512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Max(Float512 a, Float512 b) => new(Vector512.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Float512 Exp(Float512 v) => new(Vector512.Exp(v._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Float512 v) => Vector512.Sum(v._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxElement(Float512 v) =>
        Float256.MaxElement(new Float256(Vector256.Max(v._v.GetLower(), v._v.GetUpper())));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float512 SwapPairs(Float512 v) =>
        new(Vector512.Shuffle(v._v, Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14)));
}
