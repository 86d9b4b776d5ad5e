using System.Diagnostics;
using SpecDec.Generation;

namespace SpecDec.Server;

/// <summary>
/// The text events of one streamed answer, sent so that generation never waits on the client. Each round's text
/// and tokens go into a buffer and, when no send is in flight, out at once as one event, sent by the generating
/// thread itself (Kestrel sends inline, see <see cref="SpecDecServer"/>): a client that keeps up gets one event
/// per round, with no other thread woken. A send that cannot complete (the client reads slower than the model
/// writes and Kestrel's response buffer is full) is awaited off the generating thread; the rounds that finish
/// meanwhile accumulate, and its completion sends them together as one event. Every token thus reaches the
/// client once and in order, however slowly it reads. With a stream interval, a round's text goes out only when
/// the latest send started at least that long ago (else with a later round's, or at the end): each send wakes the
/// client, which on a machine whose cores the model keeps busy takes a core from it, so a 1.5 ms round sent one by
/// one pays that every round. The first text goes out at once.
/// </summary>
internal sealed class StreamedAnswer(SseWriter events, ResponseShape shape, TimeSpan interval, CancellationToken cancel)
{
    private readonly long _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    private long _lastSend = long.MinValue / 2;        // when the latest send started (timestamp)
    private readonly Lock _lock = new();
    private char[] _text = new char[1024];             // [_textLength]: text not sent yet
    private RoundToken[] _tokens = new RoundToken[64]; // [_tokenCount]: its tokens that have text, TextEnd within _text
    private int _textLength, _tokenCount;
    private StatsSnapshot _stats;                      // of the latest round added
    private bool _sending;                             // a send is in flight: what is added waits for it
    private Task _sender = Task.CompletedTask;         // awaits the send in flight and sends what accumulated behind it
    private Exception? _failure;                       // a send failed (client gone, request timed out): nothing more is sent

    /// <summary>Adds a round's text and tokens (the round's own, as <see cref="GenerationSession.RoundTokens"/> gives them); sends them unless a send is in flight.</summary>
    public void Add(string piece, ReadOnlySpan<RoundToken> round, GenerationStats stats)
    {
        lock (_lock)
        {
            int offset = _textLength;
            if (offset + piece.Length > _text.Length) Array.Resize(ref _text, Math.Max(2 * _text.Length, offset + piece.Length));
            piece.CopyTo(_text.AsSpan(offset));
            _textLength += piece.Length;
            int end = 0;
            foreach (var token in round)
            {
                if (token.TextEnd <= end) continue; // no text of its own (its bytes end in a later token's character)
                if (_tokenCount == _tokens.Length) Array.Resize(ref _tokens, 2 * _tokens.Length);
                _tokens[_tokenCount++] = token with { TextEnd = offset + token.TextEnd };
                end = token.TextEnd;
            }
            _stats = StatsSnapshot.Of(stats);
            if (_sending || _failure is not null) return;
            long now = Stopwatch.GetTimestamp();
            if (now - _lastSend < _intervalTicks) return; // the next round's Add, or the end, sends it
            _lastSend = now;
            WritePending();
            var flush = events.FlushAsync(cancel);
            if (flush.IsCompletedSuccessfully && !flush.Result.IsCompleted) return;
            _sending = true;
            _sender = SendBehindAsync(flush);
        }
    }

    /// <summary>Waits until no send is in flight (it ends soon once the client has left or the request was cancelled).</summary>
    public Task DrainAsync()
    {
        lock (_lock) return _sender;
    }

    /// <summary>After the last round: sends what is left, the last chunk with the finish reason, the usage when asked for, and [DONE].</summary>
    public async Task EndAsync(string finish, GenerationStats stats, bool includeUsage, CancellationToken cancellationToken)
    {
        await DrainAsync();
        lock (_lock)
        {
            if (_textLength > 0) WritePending();
            var final = StatsSnapshot.Of(stats);
            shape.WriteFinishChunk(events.Begin(), finish, final);
            events.End();
            if (includeUsage)
            {
                shape.WriteUsageChunk(events.Begin(), final);
                events.End();
            }
            events.WriteDone();
        }
        await events.FlushAsync(cancellationToken); // a client that left is no error here: its answer was complete
    }

    /// <summary>Writes the pending text as one event into the response pipe (not onto the wire yet), under the lock.</summary>
    private void WritePending()
    {
        shape.WriteTextChunk(events.Begin(), _text.AsSpan(0, _textLength), _tokens.AsSpan(0, _tokenCount), _stats);
        events.End();
        _textLength = _tokenCount = 0;
    }

    private async Task SendBehindAsync(ValueTask<System.IO.Pipelines.FlushResult> flush)
    {
        try
        {
            while (true)
            {
                if ((await flush.ConfigureAwait(false)).IsCompleted) throw new OperationCanceledException("the client stopped reading");
                lock (_lock)
                {
                    if (_textLength == 0)
                    {
                        _sending = false;
                        return;
                    }
                    WritePending();
                    flush = events.FlushAsync(cancel);
                }
            }
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                _failure = e;
                _sending = false;
            }
        }
    }
}
