using System.Text.Json;

namespace SpecDec.Tools.Benchmarking;

/// <summary>
/// The benchmark items of a folder of JSON Lines files (bench/tasks: one file per category). Each line holds
/// <c>id</c>, <c>category</c>, <c>source</c>, <c>prompt</c> and, for chat items, <c>turns</c>; other fields
/// (<c>references</c>, …) are ignored. Categories come in Spec-Bench's order, then the others by name.
/// </summary>
public sealed class BenchTaskSet
{
    /// <summary>Spec-Bench's six categories first, then the ones added for small models.</summary>
    private static readonly string[] PreferredOrder =
    [
        "multi_turn", "translation", "summarization", "qa", "math_reasoning", "rag",
        "code_completion", "code_edit", "prose_continuation", "multilingual_continuation",
    ];

    private BenchTaskSet(IReadOnlyList<BenchItem> items, IReadOnlyList<string> categories)
    {
        Items = items;
        Categories = categories;
    }

    /// <summary>Every item, grouped by category in <see cref="Categories"/> order, in file order within one.</summary>
    public IReadOnlyList<BenchItem> Items { get; }

    public IReadOnlyList<string> Categories { get; }

    /// <summary>Reads every *.jsonl file of <paramref name="directory"/>; throws a <see cref="SpecDecException"/> naming the file and line of a bad item.</summary>
    public static BenchTaskSet Load(string directory)
    {
        if (!Directory.Exists(directory)) throw new SpecDecException($"the task folder {directory} does not exist");
        var files = Directory.GetFiles(directory, "*.jsonl").Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new SpecDecException($"the task folder {directory} holds no *.jsonl files");
        var items = new List<BenchItem>();
        foreach (string file in files)
        {
            int line = 0;
            foreach (string text in File.ReadLines(file))
            {
                line++;
                if (string.IsNullOrWhiteSpace(text)) continue;
                items.Add(Parse(text, $"{file}:{line}"));
            }
        }
        return FromItems(items);
    }

    /// <summary>A task set of the given items; throws a <see cref="SpecDecException"/> on a repeated id.</summary>
    public static BenchTaskSet FromItems(IEnumerable<BenchItem> items)
    {
        var list = items.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list)
            if (!seen.Add(item.Id)) throw new SpecDecException($"the task set has two items with id '{item.Id}'");
        var categories = list.Select(i => i.Category).Distinct(StringComparer.Ordinal)
            .OrderBy(c => Array.IndexOf(PreferredOrder, c) is int at && at >= 0 ? at : PreferredOrder.Length)
            .ThenBy(c => c, StringComparer.Ordinal)
            .ToArray();
        var ordered = categories.SelectMany(c => list.Where(i => i.Category == c)).ToArray();
        return new BenchTaskSet(ordered, categories);
    }

    /// <summary>
    /// The items of the named categories (all when <paramref name="categories"/> is empty), the first
    /// <paramref name="limitPerCategory"/> of each when given. Throws a <see cref="SpecDecException"/> naming an
    /// unknown category.
    /// </summary>
    public IReadOnlyList<BenchItem> Select(IReadOnlyCollection<string> categories, int? limitPerCategory)
    {
        if (limitPerCategory is < 1) throw new SpecDecException($"--limit must be ≥ 1 (got {limitPerCategory})");
        foreach (string c in categories)
            if (!Categories.Contains(c))
                throw new SpecDecException($"unknown category '{c}'; the task set has: {string.Join(", ", Categories)}");
        var selected = new List<BenchItem>();
        foreach (string category in Categories)
        {
            if (categories.Count > 0 && !categories.Contains(category)) continue;
            var inCategory = Items.Where(i => i.Category == category);
            selected.AddRange(limitPerCategory is int n ? inCategory.Take(n) : inCategory);
        }
        return selected;
    }

    private static BenchItem Parse(string text, string where)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new SpecDecException($"{where}: not valid JSON ({e.Message})");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new SpecDecException($"{where}: an item must be a JSON object");
            string id = RequiredString(root, "id", where);
            string category = RequiredString(root, "category", where);
            string source = root.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
            string prompt = RequiredString(root, "prompt", where);
            var turns = new List<string>();
            if (root.TryGetProperty("turns", out var t))
            {
                if (t.ValueKind != JsonValueKind.Array || t.GetArrayLength() == 0)
                    throw new SpecDecException($"{where}: item '{id}' field 'turns' must be a non-empty array of strings");
                foreach (var turn in t.EnumerateArray())
                {
                    if (turn.ValueKind != JsonValueKind.String)
                        throw new SpecDecException($"{where}: item '{id}' field 'turns' must hold strings only");
                    turns.Add(turn.GetString()!);
                }
                // The ready-made prompt must be the first turn in the chat format, or later turns would be
                // built differently from the first.
                if (prompt != ChatFormat.Prompt(turns, [], 0))
                    throw new SpecDecException($"{where}: item '{id}' has a prompt that is not its first turn in the chat format");
            }
            if (prompt.Length == 0) throw new SpecDecException($"{where}: item '{id}' has an empty prompt");
            return new BenchItem(id, category, source, prompt, turns);
        }
    }

    private static string RequiredString(JsonElement obj, string name, string where) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new SpecDecException($"{where}: missing string field '{name}'");
}
