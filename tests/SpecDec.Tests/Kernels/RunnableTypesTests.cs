using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Tensors;

namespace SpecDec.Tests.Kernels;

/// <summary>
/// <see cref="RunnableTypes"/> is the one list of weight types: every type on it has a row decoder and a
/// matmul kernel (checked on all-zero weights, which every format decodes to 0), and a type off it is refused.
/// </summary>
public unsafe class RunnableTypesTests
{
    public static TheoryData<GgmlType> Runnable() => new(RunnableTypes.Types);

    [Theory]
    [MemberData(nameof(Runnable))]
    public void Every_runnable_type_decodes_and_multiplies(GgmlType type)
    {
        const int k = 256, n = 8, t = 2;
        using var weights = new NativeBuffer<byte>(n * GgmlTypeInfo.ByteCount(type, k));
        using var x = new NativeBuffer<float>(t * k);
        using var y = new NativeBuffer<float>(t * n);
        x.Span.Fill(1f);
        y.Span.Fill(float.NaN);
        var row = new float[k];
        fixed (float* r = row) Dequantize.Row(type, weights.Pointer, r, k, SimdLevel.Scalar);
        Assert.All(row, v => Assert.Equal(0f, v));

        using var pool = new WorkerPool(1);
        using var workspace = new MatmulWorkspace(t, k, 1);
        Matmul.Run(pool, workspace, x.Pointer, t, Simd.Best, new MatmulPart(new LinearWeight(type, weights.Pointer, n, k), y.Pointer));
        Assert.All(y.Span.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void A_type_off_the_list_has_no_kernel()
    {
        Assert.False(Dequantize.Supports(GgmlType.IQ2_XS));
        Assert.Throws<NotSupportedException>(() => new LinearWeight(GgmlType.IQ2_XS, null, 8, 256));
    }
}
