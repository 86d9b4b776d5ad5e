using SpecDec.Model;

namespace SpecDec.Backends.Cuda;

/// <summary>
/// One forward's device scratch for a chunk of up to <see cref="ForwardBatch.MaxRows"/> rows, and the pinned host
/// memory its inputs and logits travel through; allocated at load, so a forward allocates nothing. Rows are padded
/// to 32 elements (<see cref="CudaWeights.Pad"/>) and the padding stays zero: no kernel writes it.
/// </summary>
internal sealed unsafe class CudaBuffers : IDisposable
{
    public const int Rows = ForwardBatch.MaxRows;
    readonly CudaDevice _device;
    readonly List<DeviceBuffer> _buffers = [];
    void* _pinned;

    /// <param name="matrices">The model's matrices, whose tensor-core matmuls size the split-K scratch.</param>
    public CudaBuffers(CudaDevice device, ModelConfig c, IEnumerable<DeviceMatrix> matrices)
    {
        _device = device;
        Hidden = CudaWeights.Pad(c.HiddenSize);
        QDim = CudaWeights.Pad(c.HeadCount * c.HeadDim);
        KvDim = CudaWeights.Pad(c.KvHeadCount * c.HeadDim);
        Ffn = CudaWeights.Pad(c.IntermediateSize);
        Vocab = CudaWeights.Pad(c.LogitCount);
        InputLd = c.IsEagleHead ? CudaWeights.Pad(2 * c.HiddenSize) : Hidden;
        try
        {
            X = Floats(Rows * Hidden);
            Xn = Floats(Rows * Hidden);
            QkvLd = QDim + 2 * KvDim;
            Qkv = Floats(Rows * QkvLd);
            Att = Floats(Rows * QDim);
            Gate = Floats((long)Rows * Ffn);
            Up = Floats((long)Rows * Ffn);
            HeadIn = Floats(Rows * Hidden);
            DeviceMatrix[] all = matrices.ToArray();
            FcIn = c.IsEagleHead ? Floats((long)Rows * InputLd) : 0;
            int widest = Math.Max(Math.Max(Hidden, QDim), Math.Max(Ffn, all.Max(m => m.Ld)));
            Xq = Allocate((long)Rows * widest);
            Xd = Floats((long)Rows * widest / 32);
            XsPlane = (long)Rows * widest;
            Xs = Allocate(3 * XsPlane * sizeof(ushort));
            AttPartial = Floats((long)Rows * CudaKernels.MaxSplits * (QDim + 2L * c.HeadCount));
            AttCount = Allocate((long)Rows * c.HeadCount * sizeof(int));
            SplitPart = Floats(Math.Max(1, all.Max(CudaKernels.SplitScratchFloats)));
            SplitCount = Allocate(all.Max(m => (m.Rows + CudaKernels.TensorCoreRows - 1) / CudaKernels.TensorCoreRows) * sizeof(int));
            Logits = Floats((long)Rows * Vocab);
            Inputs = Allocate(InputBytes);
            long pinnedBytes = InputBytes + (long)Rows * (InputLd + Hidden + Vocab) * sizeof(float);
            void* pinned;
            device.Api.Check(device.Api.cuMemAllocHost(&pinned, (nuint)pinnedBytes), "cuMemAllocHost");
            _pinned = pinned;
            new Span<byte>(pinned, checked((int)pinnedBytes)).Clear();
            HostInputs = (byte*)pinned;
            HostX = (float*)(HostInputs + InputBytes);
            HostLogits = HostX + (long)Rows * InputLd;
            HostHidden = HostLogits + (long)Rows * Vocab;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Padded row lengths (elements) of the activations.</summary>
    public int Hidden { get; }
    public int QDim { get; }
    public int KvDim { get; }
    public int Ffn { get; }
    public int Vocab { get; }     // a row of logits: the vocabulary, or an EAGLE head's draft vocabulary
    public int InputLd { get; }   // a row of what a forward uploads: Hidden, or an EAGLE head's [embedding; feature] (Pad(2·hidden))

    public ulong X { get; }       // [Rows × Hidden] residual stream
    public ulong FcIn { get; }    // [Rows × InputLd] an EAGLE head's fc input [embedding; feature]; 0 otherwise
    public ulong Xn { get; }      // [Rows × Hidden] normed input
    public ulong Qkv { get; }     // [Rows × QkvLd]: each row's q [QDim], k [KvDim], v [KvDim]
    public int QkvLd { get; }
    public ulong K => Qkv + (ulong)QDim * sizeof(float);
    public ulong V => K + (ulong)KvDim * sizeof(float);
    public ulong Att { get; }     // [Rows × QDim] attention output
    public ulong Gate { get; }    // [Rows × Ffn]
    public ulong Up { get; }      // [Rows × Ffn] SwiGLU output
    public ulong HeadIn { get; }  // [Rows × Hidden] final-normed rows whose logits or states are wanted
    public ulong Logits { get; }  // [Rows × Vocab]
    public ulong Xq { get; }      // [Rows × widest input] int8: a Q8_0 matmul's input rounded as the CPU rounds it
    public ulong Xd { get; }      // [Rows × widest input / 32] f32 scales of Xq
    public ulong Xs { get; }      // [3][Rows × widest input] bf16: a BF16 tensor-core matmul's input as three terms
    public long XsPlane { get; }  // elements between Xs's terms
    public ulong AttPartial { get; } // [Rows][heads][MaxSplits][HeadDim + 2] f32: attention's per-segment partials
    public ulong AttCount { get; }   // [Rows][heads] int: segments done, zero between launches
    public ulong SplitPart { get; }  // a tensor-core matmul's per-group sums when its K is split over blocks
    public ulong SplitCount { get; } // [weight tiles] int: groups done, zero between launches

    public MatmulScratch Scratch => new(Xq, Xd, Xs, XsPlane, SplitPart, SplitCount);

    /// <summary>
    /// Small per-chunk inputs: positions [Rows] int, logit rows [Rows] int, visibility [Rows] u64, and the cache's
    /// length (one int, where the new rows' keys go; in device memory so that a captured graph reads each step's).
    /// </summary>
    public ulong Inputs { get; }
    public const int PositionsOffset = 0, LogitRowsOffset = Rows * sizeof(int), VisibleOffset = 2 * Rows * sizeof(int);
    public const int CachedOffset = VisibleOffset + Rows * sizeof(ulong);
    public const int InputBytes = CachedOffset + 16;

    /// <summary>
    /// Pinned host copies: the inputs (layout of <see cref="Inputs"/>), the residual (or fc input) rows [Rows × InputLd], logits
    /// [Rows × Vocab], and final-normed rows [Rows × Hidden] a replayed graph copies back (EAGLE's features).
    /// </summary>
    public byte* HostInputs { get; }
    public float* HostX { get; }
    public float* HostLogits { get; }
    public float* HostHidden { get; }

    public long Bytes => _buffers.Sum(b => b.Bytes);

    ulong Floats(long n) => Allocate(n * sizeof(float));

    ulong Allocate(long bytes)
    {
        var b = new DeviceBuffer(_device, bytes);
        _buffers.Add(b);
        return b.Pointer;
    }

    public void Dispose()
    {
        foreach (DeviceBuffer b in _buffers) b.Dispose();
        _buffers.Clear();
        if (_pinned != null) _device.Api.cuMemFreeHost(_pinned);
        _pinned = null;
    }
}
