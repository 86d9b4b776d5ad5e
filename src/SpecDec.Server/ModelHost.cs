namespace SpecDec.Server;

/// <summary>
/// Where the server finds its model: empty while it loads (GET /health and the API answer 503), then the one
/// <see cref="ServedModel"/> for the server's lifetime. Models come from the command line only; no request names a file.
/// </summary>
public sealed class ModelHost
{
    private volatile ServedModel? _model;

    public ServedModel? Model => _model;

    /// <summary>Makes the model available to requests; once only.</summary>
    public void Ready(ServedModel model)
    {
        if (Interlocked.CompareExchange(ref _model, model, null) is not null)
            throw new InvalidOperationException("the server already has its model");
    }
}
