using System.Text;
using System.Text.Json;
using SpecDec.Formats;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// The files of a benchmark run: records.jsonl (one raw record per item × method × run), summary.json,
/// report.md and speedup.svg, all in one folder.
/// </summary>
public static class BenchOutput
{
    public const string RecordsFile = "records.jsonl";
    public const string SummaryFile = "summary.json";
    public const string ReportFile = "report.md";
    public const string ChartFile = "speedup.svg";

    private static readonly UTF8Encoding Utf8 = new(false);

    /// <summary>Writes the four files into <paramref name="directory"/> (created if needed), each complete or not at all.</summary>
    public static void Write(string directory, IReadOnlyList<BenchRecord> records, BenchSummary summary)
    {
        Directory.CreateDirectory(directory);
        OutputFile.Write(Path.Combine(directory, RecordsFile), stream =>
        {
            foreach (var record in records)
            {
                JsonSerializer.Serialize(stream, record, BenchJsonContext.Default.BenchRecord);
                stream.WriteByte((byte)'\n');
            }
        });
        OutputFile.Write(Path.Combine(directory, SummaryFile), stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            JsonSerializer.Serialize(writer, summary, BenchJsonContext.Default.BenchSummary);
        });
        WriteText(Path.Combine(directory, ReportFile), MarkdownReport.Render(summary, ChartFile));
        WriteText(Path.Combine(directory, ChartFile), SpeedupChart.Render(summary));
    }

    /// <summary>UTF-8 text without a byte-order mark, complete or not at all.</summary>
    public static void WriteText(string path, string text) =>
        OutputFile.Write(path, stream => stream.Write(Utf8.GetBytes(text)));

    /// <summary>Reads a summary.json; throws a <see cref="SpecDecException"/> naming the file when it is not one.</summary>
    public static BenchSummary ReadSummary(string path)
    {
        if (!File.Exists(path)) throw new SpecDecException($"{path}: no such summary file");
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize(stream, BenchJsonContext.Default.BenchSummary)
                ?? throw new SpecDecException($"{path}: empty summary");
        }
        catch (JsonException e)
        {
            throw new SpecDecException($"{path}: not a benchmark summary.json ({e.Message})");
        }
    }

    /// <summary>Reads a records.jsonl back; throws a <see cref="SpecDecException"/> naming the file and line of a bad record.</summary>
    public static IReadOnlyList<BenchRecord> ReadRecords(string path)
    {
        var records = new List<BenchRecord>();
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                records.Add(JsonSerializer.Deserialize(text, BenchJsonContext.Default.BenchRecord)
                    ?? throw new SpecDecException($"{path}:{line}: null record"));
            }
            catch (JsonException e)
            {
                throw new SpecDecException($"{path}:{line}: not a benchmark record ({e.Message})");
            }
        }
        return records;
    }
}
