using System.Text;

namespace SpecDec.Generation;

/// <summary>
/// Holds back output text while it could still be the start of a stop string, and cuts the output just
/// before the first stop string that completes. Only the held-back tail (shorter than the longest stop
/// string) plus the new text is searched, so a push costs O(new text × stops), not O(output).
/// </summary>
internal sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private readonly int _holdMax;        // longest stop string − 1: more can never be a stop's proper prefix
    private char[] _pending = new char[64];
    private int _length;

    public StopStringMatcher(IReadOnlyList<string> stops)
    {
        _stops = [.. stops];
        _holdMax = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length) - 1;
    }

    /// <summary>A stop string was found; nothing more will be emitted.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds newly decoded <paramref name="text"/> and appends what is safe to show to <paramref name="output"/>.</summary>
    public void Push(ReadOnlySpan<char> text, StringBuilder output)
    {
        if (Stopped) return;
        if (_stops.Length == 0)
        {
            output.Append(text);
            return;
        }
        if (_pending.Length < _length + text.Length) Array.Resize(ref _pending, Math.Max(2 * _pending.Length, _length + text.Length));
        text.CopyTo(_pending.AsSpan(_length));
        _length += text.Length;
        ReadOnlySpan<char> pending = _pending.AsSpan(0, _length);

        int cut = -1;
        foreach (string stop in _stops)
        {
            int at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0)
        {
            output.Append(pending[..cut]);
            _length = 0;
            Stopped = true;
            return;
        }

        int hold = 0;
        for (int len = Math.Min(_length, _holdMax); len > 0 && hold == 0; len--)
        {
            foreach (string stop in _stops)
            {
                if (stop.AsSpan().StartsWith(pending[^len..], StringComparison.Ordinal))
                {
                    hold = len;
                    break;
                }
            }
        }
        output.Append(pending[..^hold]);
        pending[^hold..].CopyTo(_pending);
        _length = hold;
    }

    /// <summary>Generation ended without a stop string: release the held-back text.</summary>
    public void Flush(StringBuilder output)
    {
        if (!Stopped) output.Append(_pending.AsSpan(0, _length));
        _length = 0;
    }
}
