namespace SpecDec.Kernels.Linear;

/// <summary>One product of a matmul call: Y[T × Weight.Rows] = X · Weightᵀ, Y rows contiguous.</summary>
public readonly unsafe struct MatmulPart(LinearWeight weight, float* y)
{
    public LinearWeight Weight { get; } = weight;
    public float* Y { get; } = y;
}
