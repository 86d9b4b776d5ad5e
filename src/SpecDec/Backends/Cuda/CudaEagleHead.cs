using SpecDec.Model;
using SpecDec.Model.Heads;

namespace SpecDec.Backends.Cuda;

/// <summary>
/// An EAGLE head on the GPU beside its CUDA target (docs/gpu.md, "Draft heads beside a GPU target"): the same
/// forward as the target's with three differences, each the CPU backend's arithmetic. Rows enter as
/// fc([embedding(token); feature]) + bias: the pinned [embedding; feature] rows go up in one copy, fc's bias rows are
/// copied into the residual and fc adds its products to them (b + s, exactly the CPU's s + b). The block has no input
/// norm (its Q, K, V read the residual). There is no final norm: the head multiplies the residual rows themselves
/// (its 3,072-token draft vocabulary's rows, gathered once by <see cref="EagleModelSource"/>), the chunk's rows from
/// the first one whose logits are wanted (the frontier, which a tree level lays out last), and its "final" state is
/// the block's output. So its forwards replay as CUDA graphs like the target's: a level is one graph launch.
/// </summary>
public sealed unsafe partial class CudaTransformer
{
    /// <summary>
    /// The EAGLE head in <paramref name="head"/> (checked against <paramref name="target"/>: hidden size, vocabulary,
    /// base model) on the target's GPU, reading the target's mapped embedding and output head; owns <paramref name="head"/>.
    /// </summary>
    public static CudaTransformer LoadEagleHead(HeadFile head, CudaTransformer target)
    {
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            head.Check(target);
            return Load(new EagleModelSource(head, target.Weights.Source), target.Device);
        }
        catch
        {
            head.Dispose();
            throw;
        }
    }

    /// <summary>X[rows × Hidden] = bias + FcIn · fcᵀ (an EAGLE head's input rows).</summary>
    void EnqueueProjection(int rows)
    {
        var api = _device.Api;
        api.Check(api.cuMemcpyDtoDAsync(_b.X, _weights.InputBiasRows, (nuint)((long)rows * _b.Hidden * sizeof(float)), _device.Stream),
            "cuMemcpyDtoDAsync");
        Matmul(_weights.InputProjection!, _b.FcIn, rows, _b.X, _b.Hidden, accumulate: true);
    }

    /// <summary>
    /// Rows the output head multiplies for <paramref name="m"/> picked rows of a chunk of <paramref name="rows"/>: the
    /// target gathers the m rows; an EAGLE head takes the chunk's rows from the first picked one on.
    /// </summary>
    int HeadRows(int m, int rows)
    {
        if (!_eagle) return m;
        var rowIndex = new ReadOnlySpan<int>(_b.HostInputs + CudaBuffers.LogitRowsOffset, m);
        int first = rows;
        foreach (int r in rowIndex) first = Math.Min(first, r);
        return rows - first;
    }

    /// <summary>An EAGLE head's logits of the chunk's last <paramref name="headRows"/> residual rows, copied to pinned memory.</summary>
    void EnqueueHeadLogits(int headRows, int rows)
    {
        var api = _device.Api;
        ulong x = _b.X + (ulong)((long)(rows - headRows) * _b.Hidden * sizeof(float));
        Matmul(_weights.OutputHead, x, headRows, _b.Logits, _b.Vocab, accumulate: false);
        api.Check(api.cuMemcpyDtoHAsync(_b.HostLogits, _b.Logits, (nuint)((long)headRows * _b.Vocab * sizeof(float)), _device.Stream),
            "cuMemcpyDtoHAsync");
    }
}
