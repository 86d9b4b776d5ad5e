using System.Text;
using System.Text.Json;
using SpecDec.Tokenization;

namespace SpecDec.Cli.Commands;

/// <summary>
/// Reads a datastore input into documents and tokenises them. A .jsonl file is a chat log: each line an object
/// whose "messages" (or "conversations") array holds turns with "content" (or "value"), or which has string
/// fields "text", "prompt", "response", "completion" or "answer"; every turn and field is one document. Any
/// other file is UTF-8 text whose documents are separated by lines "&lt;|endoftext|&gt;" (the demo corpus).
/// </summary>
internal static class DatastoreInput
{
    private const string DocumentEnd = "<|endoftext|>";
    private static readonly string[] TextFields = ["text", "prompt", "response", "completion", "answer"];

    /// <summary>
    /// Appends the documents of <paramref name="path"/>, each followed by −1, to <paramref name="tokens"/>;
    /// with <paramref name="maxTokens"/> &gt; 0 only about that many tokens, from documents spread evenly over
    /// the file. Returns the documents taken.
    /// </summary>
    public static int Tokenize(string path, ITokenizer tokenizer, long maxTokens, List<int> tokens, CancellationToken cancel)
    {
        List<string> documents = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? ChatLog(path) : Text(path);
        // Evenly spread: take every step-th document, the step chosen from the file's size in characters
        // (about 3.5 characters a token for the demo tokenizer's text).
        long chars = documents.Sum(d => (long)d.Length);
        int step = maxTokens > 0 ? (int)Math.Max(1, chars / 3.5 / maxTokens) : 1;
        long start = tokens.Count;
        int taken = 0;
        for (int d = 0; d < documents.Count; d += step)
        {
            cancel.ThrowIfCancellationRequested();
            if (maxTokens > 0 && tokens.Count - start >= maxTokens) break;
            int[] ids = tokenizer.Encode(documents[d], addSpecial: false, parseSpecial: true);
            if (ids.Length == 0) continue;
            tokens.AddRange(ids);
            tokens.Add(-1);
            taken++;
        }
        return taken;
    }

    private static List<string> Text(string path)
    {
        var documents = new List<string>();
        var current = new StringBuilder();
        foreach (string line in ReadLines(path))
        {
            if (line == DocumentEnd)
            {
                if (current.Length > 0) documents.Add(current.ToString());
                current.Clear();
                continue;
            }
            current.Append(line).Append('\n');
        }
        if (current.Length > 0) documents.Add(current.ToString());
        return documents;
    }

    private static List<string> ChatLog(string path)
    {
        var documents = new List<string>();
        int number = 0;
        foreach (string line in ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument json;
            try
            {
                json = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw new SpecDecException($"{path}:{number}: not a JSON object ({e.Message})");
            }
            using (json)
            {
                int before = documents.Count;
                var root = json.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new SpecDecException($"{path}:{number}: not a JSON object");
                foreach (string list in new[] { "messages", "conversations" })
                    if (root.TryGetProperty(list, out var turns) && turns.ValueKind == JsonValueKind.Array)
                        foreach (var turn in turns.EnumerateArray())
                            if (turn.ValueKind == JsonValueKind.Object && (Text(turn, "content") ?? Text(turn, "value")) is { Length: > 0 } content)
                                documents.Add(content);
                foreach (string field in TextFields)
                    if (Text(root, field) is { Length: > 0 } text) documents.Add(text);
                if (documents.Count == before)
                    throw new SpecDecException($"{path}:{number}: no text: expected \"messages\" with \"content\", or one of {string.Join(", ", TextFields.Select(f => $"\"{f}\""))}");
            }
        }
        return documents;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Lines of a UTF-8 file; invalid UTF-8 is refused naming the file.</summary>
    private static IEnumerable<string> ReadLines(string path)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException)
            {
                throw new SpecDecException($"{path} is not valid UTF-8 text");
            }
            if (line is null) yield break;
            yield return line;
        }
    }
}
