using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace SpecDec.Server;

/// <summary>
/// Writes Server-Sent Events (<c>data: JSON</c> and a blank line) straight into the response's pipe, so that an
/// event is one buffer and goes out in one send when flushed: no byte array per event, and no partial event on
/// the wire (each write through Response.Body would be sent on its own).
/// </summary>
internal sealed class SseWriter(PipeWriter pipe, JsonWriterOptions options)
{
    private readonly Utf8JsonWriter _json = new(pipe, options);

    /// <summary>Starts an event: write its data as one JSON value into the writer returned, then call <see cref="End"/>.</summary>
    public Utf8JsonWriter Begin()
    {
        pipe.Write("data: "u8);
        _json.Reset(pipe);
        return _json;
    }

    public void End()
    {
        _json.Flush(); // into the pipe's buffer, not onto the wire
        pipe.Write("\n\n"u8);
    }

    public void WriteDone() => pipe.Write("data: [DONE]\n\n"u8);

    /// <summary>Sends what was written (the headers too, the first time); incomplete while the client lags far behind.</summary>
    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => pipe.FlushAsync(cancellationToken);
}
