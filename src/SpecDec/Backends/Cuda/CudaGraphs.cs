namespace SpecDec.Backends.Cuda;

/// <summary>
/// A model's CUDA graphs: a forward of one chunk through every layer, captured once per (rows, logit rows, whether
/// the final-normed states come back too) and then
/// replayed with a single launch, so a decode step or a verification pays one launch instead of ~10 per layer. What
/// changes between steps (the residual rows, positions, visibility, the cache's length, the logit rows) lives in
/// the device inputs the graph's first copies fill from pinned memory; the cache's buffers are baked in, so the graphs
/// are dropped when the cache or its buffers change (another cache, or growth by Reserve). SPECDEC_CUDA_GRAPHS=0
/// turns them off (perf compares both ways).
/// </summary>
internal sealed unsafe class CudaGraphs(CudaDevice device) : IDisposable
{
    readonly Dictionary<(int Rows, int LogitRows, bool Final), (nint Graph, nint Exec)> _graphs = [];
    CudaKvCache? _cache;
    ulong _keys, _values;

    public static bool Enabled => Environment.GetEnvironmentVariable("SPECDEC_CUDA_GRAPHS") != "0";

    /// <summary>The graph for this shape over <paramref name="kv"/>'s current buffers, if one was captured.</summary>
    public bool TryGet(CudaKvCache kv, int rows, int logitRows, bool final, out nint exec)
    {
        if (!ReferenceEquals(_cache, kv) || _keys != kv.Keys(0) || _values != kv.Values(0))
        {
            Clear();
            _cache = kv;
            _keys = kv.Keys(0);
            _values = kv.Values(0);
        }
        bool found = _graphs.TryGetValue((rows, logitRows, final), out var g);
        exec = g.Exec;
        return found;
    }

    /// <summary>From here until <see cref="EndCapture"/>, the device's stream records work instead of running it.</summary>
    public void BeginCapture() =>
        device.Api.Check(device.Api.cuStreamBeginCapture(device.Stream, 1 /* CU_STREAM_CAPTURE_MODE_THREAD_LOCAL */), "cuStreamBeginCapture");

    /// <summary>Ends the capture; when <paramref name="keep"/>, instantiates and stores the graph for this shape.</summary>
    public nint EndCapture(int rows, int logitRows, bool final, bool keep)
    {
        var api = device.Api;
        nint graph = 0, exec = 0;
        int status = api.cuStreamEndCapture(device.Stream, &graph);
        if (!keep)
        {
            if (graph != 0) api.cuGraphDestroy(graph);
            return 0;
        }
        api.Check(status, "cuStreamEndCapture");
        status = api.cuGraphInstantiateWithFlags(&exec, graph, 0);
        if (status != 0)
        {
            api.cuGraphDestroy(graph);
            api.Check(status, "cuGraphInstantiateWithFlags");
        }
        _graphs[(rows, logitRows, final)] = (graph, exec);
        return exec;
    }

    public void Launch(nint exec) => device.Api.Check(device.Api.cuGraphLaunch(exec, device.Stream), "cuGraphLaunch");

    void Clear()
    {
        foreach (var (graph, exec) in _graphs.Values)
        {
            device.Api.cuGraphExecDestroy(exec);
            device.Api.cuGraphDestroy(graph);
        }
        _graphs.Clear();
        _cache = null;
    }

    public void Dispose() => Clear();
}
