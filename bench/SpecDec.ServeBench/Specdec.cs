using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace SpecDec.ServeBench;

/// <summary>The `specdec` CLI as a child process: one `generate`, or a `serve` kept running while the benchmark talks to it.</summary>
internal static class Specdec
{
    public static ProcessStartInfo Start(string cli, IEnumerable<string> args)
    {
        var start = cli.EndsWith(".dll", StringComparison.Ordinal) ? new ProcessStartInfo("dotnet", [cli, .. args]) : new ProcessStartInfo(cli, args);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.StandardOutputEncoding = Encoding.UTF8;
        return start;
    }

    /// <summary>Runs `specdec generate`; returns its stdout (the continuation) and stderr (the statistics).</summary>
    public static async Task<(string Text, string Stats)> GenerateAsync(string cli, IEnumerable<string> args)
    {
        using var process = Process.Start(Start(cli, ["generate", .. args]))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"specdec generate exited {process.ExitCode}: {await stderr}");
        return (await stdout, await stderr);
    }
}

/// <summary>A running `specdec serve` on a loopback port; its log goes to a file, and it is stopped on dispose.</summary>
internal sealed class Server : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Task _pump;

    private Server(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
        _pump = Task.WhenAll(Pump(process.StandardOutput), Pump(process.StandardError));
    }

    public Uri Address { get; private init; } = null!;
    public int Pid => _process.Id;
    public bool Exited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static async Task<Server> StartAsync(string cli, int port, IEnumerable<string> args, string logPath)
    {
        var process = Process.Start(Specdec.Start(cli, ["serve", "--port", port.ToString(CultureInfo.InvariantCulture), .. args]))!;
        var server = new Server(process, new StreamWriter(logPath)) { Address = new Uri($"http://127.0.0.1:{port}") };
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"specdec serve exited {process.ExitCode} before it was ready; see {logPath}");
            try
            {
                if ((await client.GetAsync("/health")).StatusCode == HttpStatusCode.OK) return server;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (clock.Elapsed > TimeSpan.FromMinutes(3)) throw new InvalidOperationException($"specdec serve was not ready after 3 minutes; see {logPath}");
            await Task.Delay(200);
        }
    }

    private async Task Pump(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is string line)
            lock (_log) _log.WriteLine(line);
    }

    /// <summary>Resident memory (VmRSS) of the server process, in bytes.</summary>
    public long ResidentBytes()
    {
        _process.Refresh();
        string line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        await _pump;
        lock (_log) _log.Dispose();
        _process.Dispose();
    }
}
