using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Backends.Cpu;

/// <summary>
/// The scratch one forward pass writes, for up to <see cref="ForwardBatch.MaxRows"/> rows of one chunk,
/// allocated once so a forward allocates nothing. One set serves one forward at a time.
/// </summary>
internal sealed unsafe class ActivationBuffers : IDisposable
{
    const int Rows = ForwardBatch.MaxRows;
    readonly List<IDisposable> _buffers = [];

    public ActivationBuffers(ModelConfig c, int threads, bool scaledActivations)
    {
        int hidden = c.HiddenSize, qDim = c.HeadCount * c.HeadDim, kvDim = c.KvHeadCount * c.HeadDim, ffn = c.IsMoe ? c.ExpertFfnSize : c.IntermediateSize;
        int input = c.IsEagleHead ? 2 * hidden : 0;
        Workspace = new MatmulWorkspace(Rows, Math.Max(Math.Max(Math.Max(hidden, qDim), ffn), input), threads, scaledActivations);
        _buffers.Add(Workspace);
        X = Floats(Rows * hidden);
        Xn = Floats(Rows * hidden);
        Q = Floats(Rows * qDim);
        K = Floats(Rows * kvDim);
        V = Floats(Rows * kvDim);
        Att = Floats(Rows * qDim);
        Gate = Floats((long)Rows * ffn);
        Up = Floats((long)Rows * ffn);
        Cos = Floats(Rows * c.HeadDim);
        Sin = Floats(Rows * c.HeadDim);
        if (c.SlidingLayers.Contains(true))
        {
            SlidingCos = Floats(Rows * c.HeadDim);
            SlidingSin = Floats(Rows * c.HeadDim);
        }
        HeadIn = Floats(Rows * hidden);
        FcIn = c.IsEagleHead ? Floats(Rows * input) : null;
        var visible = new NativeBuffer<ulong>(Rows);
        _buffers.Add(visible);
        Visible = visible.Pointer;
        AttentionScratch = Floats((long)threads * Attention.ScratchFloats(c.HeadDim));
        var problems = new NativeBuffer<Attention.Problem>(Rows);
        _buffers.Add(problems);
        Problems = problems.Pointer;
    }

    public MatmulWorkspace Workspace { get; }
    public float* X { get; }        // [Rows × hidden] residual stream
    public float* Xn { get; }       // [Rows × hidden] normed input / projection output
    public float* Q { get; }        // [Rows × heads·headDim]
    public float* K { get; }        // [Rows × kvHeads·headDim]
    public float* V { get; }        // [Rows × kvHeads·headDim]
    public float* Att { get; }      // [Rows × heads·headDim] attention output
    public float* Gate { get; }     // [Rows × ffn]
    public float* Up { get; }       // [Rows × ffn]
    public float* Cos { get; }      // [Rows × headDim] RoPE tables
    public float* Sin { get; }      // [Rows × headDim]
    public float* SlidingCos { get; } // [Rows × headDim] the sliding layers' RoPE tables (null when none slides)
    public float* SlidingSin { get; } // [Rows × headDim]
    public float* HeadIn { get; }   // [Rows × hidden] final-normed rows whose logits are wanted
    public float* FcIn { get; }     // [Rows × 2·hidden] an EAGLE head's [embedding; feature] rows (null otherwise)
    public ulong* Visible { get; }  // [Rows] attention mask bits over the chunk
    public float* AttentionScratch { get; } // [threads × Attention.ScratchFloats]
    public Attention.Problem* Problems { get; } // [Rows] one attention problem per sequence of the chunk

    float* Floats(long n)
    {
        var b = new NativeBuffer<float>(n);
        _buffers.Add(b);
        return b.Pointer;
    }

    public void Dispose()
    {
        foreach (IDisposable b in _buffers) b.Dispose();
    }
}
