using System.Numerics.Tensors;
using SpecDec.Kernels;
using SpecDec.Kernels.Linear;
using SpecDec.Model;
using SpecDec.Tensors;

namespace SpecDec.Backends.Cpu;

/// <summary>
/// A mixture-of-experts feed-forward (Mixtral, Qwen3-MoE, OLMoE) over one chunk of rows: the router's softmax
/// picks each row's top-k experts (weights renormalised to sum 1 where the config says so), then the rows are
/// grouped by expert so each chosen expert's matrices are read once for all the rows routed to it, as one
/// matmul over those rows — verifying k draft tokens touches the union of their experts, each once. Scratch is
/// allocated once, for <see cref="ForwardBatch.MaxRows"/> rows.
/// </summary>
internal sealed unsafe class MixtureOfExperts : IDisposable
{
    const int Rows = ForwardBatch.MaxRows;
    readonly int _experts, _used, _hidden, _ffn;
    readonly bool _normalize, _gelu;
    readonly List<IDisposable> _buffers = [];
    readonly float* _logits, _in, _gate, _up, _out, _sum; // [Rows × experts], [Rows × hidden], [Rows × ffn] ×2, [Rows × hidden] ×2
    readonly int[] _choice;    // [Rows × used] expert of each routing slot
    readonly float[] _weight;  // [Rows × used] its weight
    readonly int[] _count;     // [experts] rows routed to each expert
    readonly int[] _rowOf;     // [experts × Rows] those rows, in order
    readonly float[] _rowWeight; // [experts × Rows] and their weights

    public MixtureOfExperts(ModelConfig c)
    {
        _experts = c.ExpertCount;
        _used = c.ExpertsUsed;
        _hidden = c.HiddenSize;
        _ffn = c.ExpertFfnSize;
        _normalize = c.NormalizeExpertWeights;
        _gelu = c.Activation == FfnActivation.GeluTanh;
        _logits = Floats((long)Rows * _experts);
        _in = Floats((long)Rows * _hidden);
        _gate = Floats((long)Rows * _ffn);
        _up = Floats((long)Rows * _ffn);
        _out = Floats((long)Rows * _hidden);
        _sum = Floats((long)Rows * _hidden);
        _choice = new int[Rows * _used];
        _weight = new float[Rows * _used];
        _count = new int[_experts];
        _rowOf = new int[_experts * Rows];
        _rowWeight = new float[_experts * Rows];
    }

    /// <summary>Returns sum [rows × hidden]: Σ over each row's chosen experts of weight · expert(xn row) (valid until the next call).</summary>
    public float* Run(WorkerPool pool, MatmulWorkspace workspace, LayerWeights w, float* xn, int rows, SimdLevel level)
    {
        float* sum = _sum;
        Route(pool, workspace, w.Router!.Value, xn, rows, level);
        new Span<float>(sum, rows * _hidden).Clear();
        for (int e = 0; e < _experts; e++)
        {
            int n = _count[e];
            if (n == 0) continue;
            for (int j = 0; j < n; j++)
                new ReadOnlySpan<float>(xn + (long)_rowOf[e * Rows + j] * _hidden, _hidden).CopyTo(new Span<float>(_in + (long)j * _hidden, _hidden));
            Matmul.Run(pool, workspace, _in, n, level, new MatmulPart(w.ExpertGate[e], _gate), new MatmulPart(w.ExpertUp[e], _up));
            if (_gelu) GeGlu.Apply(_gate, _up, n * _ffn, level);
            else SwiGlu.Apply(_gate, _up, n * _ffn, level);
            Matmul.Run(pool, workspace, _up, n, level, new MatmulPart(w.ExpertDown[e], _out));
            for (int j = 0; j < n; j++)
            {
                var target = new Span<float>(sum + (long)_rowOf[e * Rows + j] * _hidden, _hidden);
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(_out + (long)j * _hidden, _hidden), _rowWeight[e * Rows + j], target, target);
            }
        }
        return sum;
    }

    /// <summary>Router logits, softmax, top-k per row (ties to the lower expert), then the rows grouped by expert.</summary>
    void Route(WorkerPool pool, MatmulWorkspace workspace, LinearWeight router, float* xn, int rows, SimdLevel level)
    {
        Matmul.Run(pool, workspace, xn, rows, level, new MatmulPart(router, _logits));
        Array.Clear(_count);
        for (int i = 0; i < rows; i++)
        {
            var p = new Span<float>(_logits + (long)i * _experts, _experts);
            Softmax.Apply(p, level);
            Span<int> choice = _choice.AsSpan(i * _used, _used);
            Span<float> weight = _weight.AsSpan(i * _used, _used);
            float total = 0;
            for (int s = 0; s < _used; s++)
            {
                int best = -1;
                for (int e = 0; e < _experts; e++)
                    if (p[e] >= 0 && (best < 0 || p[e] > p[best])) best = e;
                choice[s] = best;
                weight[s] = p[best];
                total += p[best];
                p[best] = -1; // taken
            }
            for (int s = 0; s < _used; s++)
            {
                int e = choice[s];
                int j = _count[e]++;
                _rowOf[e * Rows + j] = i;
                _rowWeight[e * Rows + j] = _normalize ? weight[s] / total : weight[s];
            }
        }
    }

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
