using System.Text.Json;

namespace SpecDec.Formats.HuggingFace;

/// <summary>
/// Which .safetensors files hold a Hugging Face folder's weights: model.safetensors, or the shards that
/// model.safetensors.index.json's weight_map names (each a plain file name inside the folder).
/// </summary>
internal static class HfWeightFiles
{
    public const string Single = "model.safetensors";
    public const string Index = "model.safetensors.index.json";

    /// <summary>Shard paths, and for a sharded checkpoint the tensor → shard file map to verify against.</summary>
    public static (IReadOnlyList<string> Files, IReadOnlyDictionary<string, string>? WeightMap) Find(string folder)
    {
        string index = Path.Combine(folder, Index);
        if (File.Exists(index)) return ReadIndex(folder, index);
        string single = Path.Combine(folder, Single);
        if (File.Exists(single)) return ([single], null);
        string hint = File.Exists(Path.Combine(folder, "pytorch_model.bin")) || File.Exists(Path.Combine(folder, "pytorch_model.bin.index.json"))
            ? " (PyTorch .bin checkpoints are not supported: re-save with safetensors)"
            : "";
        throw new ModelFormatException(folder, $"no {Single} or {Index} in the folder{hint}");
    }

    private static (IReadOnlyList<string>, IReadOnlyDictionary<string, string>) ReadIndex(string folder, string index)
    {
        using JsonDocument doc = JsonFields.ParseConfig(index);
        if (!doc.RootElement.TryGetProperty("weight_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(index, "has no weight_map object");
        var weightMap = new Dictionary<string, string>();
        var files = new List<string>();
        foreach (JsonProperty entry in map.EnumerateObject())
        {
            string? file = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null;
            // Shards are siblings of the index; anything else (a path, "..") is refused rather than followed.
            if (string.IsNullOrEmpty(file) || file != Path.GetFileName(file) || file is "." or "..")
                throw new ModelFormatException(index, $"weight_map entry {entry.Name} names {entry.Value.GetRawText()}, not a file in the folder");
            if (!weightMap.TryAdd(entry.Name, file)) throw new ModelFormatException(index, $"weight_map lists {entry.Name} twice");
            string shard = Path.Combine(folder, file);
            if (!files.Contains(shard)) files.Add(shard);
        }
        if (files.Count == 0) throw new ModelFormatException(index, "weight_map is empty");
        foreach (string shard in files)
        {
            if (!File.Exists(shard)) throw new ModelFormatException(index, $"shard {Path.GetFileName(shard)} is missing from the folder");
        }
        return (files, weightMap);
    }
}
