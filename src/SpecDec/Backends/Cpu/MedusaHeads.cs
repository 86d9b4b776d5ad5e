using System.Numerics.Tensors;
using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Model;
using SpecDec.Model.Heads;
using SpecDec.Tensors;

namespace SpecDec.Backends.Cpu;

/// <summary>
/// Medusa heads on the CPU, beside a target <see cref="Transformer"/> whose pool they share: per head, the
/// residual blocks h ← h + SiLU(W h + b) over the feature, then the output head. Heads that share the target's
/// output head are multiplied by it in one matmul over all heads' rows, reading the target's own (repacked)
/// copy. Owns the head file; allocates nothing per call.
/// </summary>
public sealed unsafe class MedusaHeads : IMedusaHeads
{
    readonly HeadFile _file;
    readonly WorkerPool _pool;
    readonly SimdLevel _level;
    readonly LinearWeight[] _blocks;      // [heads × blocks] W [hidden × hidden]
    readonly NativeBuffer<float> _biases; // [heads × blocks × hidden]
    readonly LinearWeight[] _outputs;     // [heads] own output heads, or one entry: the target's
    readonly MatmulWorkspace _workspace;
    readonly NativeBuffer<float> _h;      // [heads × hidden] each head's residual stream
    readonly NativeBuffer<float> _t;      // [hidden] one block's W h + b, then its SiLU
    readonly NativeBuffer<float> _s;      // [hidden] σ(W h + b)
    readonly NativeBuffer<byte>? _sharedOutput; // the packed copy of the output head of a target on another backend
    readonly int _hidden;
    bool _disposed;

    /// <summary>Checks <paramref name="file"/> against <paramref name="target"/>, then owns it.</summary>
    public MedusaHeads(HeadFile file, Transformer target) : this(file, target, target.Pool, target.OutputHead, null) { }

    /// <summary>
    /// Medusa heads on the CPU over <paramref name="pool"/> beside <paramref name="target"/> on another backend (a GPU),
    /// sharing its output head from the mapped <paramref name="outputHead"/> (packed here once when this CPU has a
    /// layout for its type). Checks <paramref name="file"/> against the target, then owns it.
    /// </summary>
    public static MedusaHeads Beside(HeadFile file, ILanguageModel target, WeightTensor outputHead, WorkerPool pool)
    {
        LinearWeight weight = Matrix(outputHead);
        if (file.Medusa?.OwnOutputs != false || !PackedWeights.Applies(weight.Type, Simd.Best)) return new MedusaHeads(file, target, pool, weight, null);
        var (packed, buffer) = PackedWeights.Pack(weight);
        try
        {
            return new MedusaHeads(file, target, pool, packed, buffer);
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    MedusaHeads(HeadFile file, ILanguageModel target, WorkerPool pool, LinearWeight sharedOutput, NativeBuffer<byte>? sharedOutputBuffer)
    {
        if (file.Medusa is null) throw new SpecDecException($"{file.Path} holds an {file.Kind} head, not Medusa heads");
        file.Check(target);
        _file = file;
        Config = file.Medusa;
        VocabSize = target.Config.VocabSize;
        _pool = pool;
        _sharedOutput = sharedOutputBuffer;
        _level = Simd.Best;
        _hidden = Config.HiddenSize;
        int heads = Config.HeadCount, blocks = Config.BlockCount;
        _blocks = new LinearWeight[heads * blocks];
        _biases = new NativeBuffer<float>((long)heads * blocks * _hidden);
        for (int i = 0; i < heads; i++)
            for (int j = 0; j < blocks; j++)
            {
                _blocks[i * blocks + j] = Matrix(file.Find(TensorNames.MedusaBlock(i, j))!);
                WeightTensor b = file.Find(TensorNames.MedusaBlockBias(i, j))!;
                Dequantize.Row(b.Type, (byte*)b.Data, _biases.Pointer + (long)(i * blocks + j) * _hidden, _hidden, SimdLevel.Scalar);
            }
        _outputs = Config.OwnOutputs
            ? Enumerable.Range(0, heads).Select(i => Matrix(file.Find(TensorNames.MedusaOutput(i))!)).ToArray()
            : [sharedOutput];
        _workspace = new MatmulWorkspace(heads, _hidden, _pool.ThreadCount, scaledActivations: sharedOutput.FiniteHalves);
        _h = new NativeBuffer<float>((long)heads * _hidden);
        _t = new NativeBuffer<float>(_hidden);
        _s = new NativeBuffer<float>(_hidden);
    }

    public MedusaConfig Config { get; }
    public int VocabSize { get; }

    static LinearWeight Matrix(WeightTensor t) => new(t.Type, (byte*)t.Data, checked((int)t.Dims[1]), checked((int)t.Dims[0]));

    public void Forward(ReadOnlySpan<float> feature, Span<float> logits)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int heads = Config.HeadCount, blocks = Config.BlockCount;
        if (feature.Length != _hidden) throw new ArgumentException($"a feature of {_hidden} floats is needed, not {feature.Length}", nameof(feature));
        if (logits.Length < (long)heads * VocabSize) throw new ArgumentException($"logits hold {logits.Length} floats; {heads} × {VocabSize} are needed", nameof(logits));
        lock (_pool.Gate)
        {
            fixed (float* y = logits)
            {
                var t = new Span<float>(_t.Pointer, _hidden);
                var s = new Span<float>(_s.Pointer, _hidden);
                for (int i = 0; i < heads; i++)
                {
                    float* h = _h.Pointer + (long)i * _hidden;
                    var hs = new Span<float>(h, _hidden);
                    feature.CopyTo(hs);
                    for (int j = 0; j < blocks; j++)
                    {
                        Matmul.Run(_pool, _workspace, h, 1, _level, new MatmulPart(_blocks[i * blocks + j], _t.Pointer));
                        TensorPrimitives.Add(t, new ReadOnlySpan<float>(_biases.Pointer + (long)(i * blocks + j) * _hidden, _hidden), t);
                        // h += SiLU(t) = t · σ(t)
                        TensorPrimitives.Sigmoid(t, s);
                        TensorPrimitives.Multiply(t, s, t);
                        TensorPrimitives.Add(hs, t, hs);
                    }
                    if (Config.OwnOutputs)
                        Matmul.Run(_pool, _workspace, h, 1, _level, new MatmulPart(_outputs[i], y + (long)i * VocabSize));
                }
                if (!Config.OwnOutputs) Matmul.Run(_pool, _workspace, _h.Pointer, heads, _level, new MatmulPart(_outputs[0], y));
            }
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _workspace.Dispose();
        _biases.Dispose();
        _h.Dispose();
        _t.Dispose();
        _s.Dispose();
        _sharedOutput?.Dispose();
        _file.Dispose();
    }
}
