using System.Runtime.InteropServices;

namespace SpecDec.Cli;

/// <summary>
/// While alive, SIGINT (Ctrl-C) and SIGTERM cancel <see cref="Token"/> instead of killing the process, so a
/// command that writes a file can delete its partial output. A second signal kills as usual, for a stuck command.
/// </summary>
public sealed class SignalCancellation : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration[] _registrations;

    public SignalCancellation() =>
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel)];

    public CancellationToken Token => _source.Token;

    private void Cancel(PosixSignalContext context)
    {
        context.Cancel = !_source.IsCancellationRequested;
        _source.Cancel();
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations) registration.Dispose();
        _source.Dispose();
    }
}
