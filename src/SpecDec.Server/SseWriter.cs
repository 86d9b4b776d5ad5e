using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace SpecDec.Server;

/// <summary>
/// Writes Server-Sent Events (<c>data: JSON</c> and a blank line) straight into the response's pipe, so that an
/// event is one buffer and goes out in one send when flushed: no byte array per event, and no partial event on
/// the wire (each write through Response.Body would be sent on its own).
/// </summary>
internal sealed class SseWriter(PipeWriter pipe, JsonSerializerOptions options)
{
    private readonly Utf8JsonWriter _json = new(pipe, new JsonWriterOptions { Encoder = options.Encoder });

    public void Write(object chunk)
    {
        pipe.Write("data: "u8);
        _json.Reset(pipe);
        JsonSerializer.Serialize(_json, chunk, options);
        _json.Flush(); // into the pipe's buffer, not onto the wire
        pipe.Write("\n\n"u8);
    }

    public void WriteDone() => pipe.Write("data: [DONE]\n\n"u8);

    /// <summary>Sends what was written (the headers too, the first time).</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken) => await pipe.FlushAsync(cancellationToken);
}
