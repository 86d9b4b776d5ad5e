using System.Text.Json;
using SpecDec.Formats;
using SpecDec.Formats.HuggingFace;
using SpecDec.Formats.Safetensors;
using SpecDec.Tensors;

namespace SpecDec.Model.Heads;

/// <summary>
/// Heads in the reference implementations' folder layout, as their training scripts and published checkpoints
/// save them:
/// <list type="bullet">
/// <item>EAGLE-1/2 (SafeAILab/EAGLE): config.json (Llama-style, num_hidden_layers 1, "bias": true,
/// base_model_name_or_path) and model.safetensors with fc.{weight,bias} and layers.0.* (no input_layernorm; Q/K in
/// Hugging Face's rotate-half order, so the block runs with neox RoPE); an embed_tokens.weight copy is ignored
/// (the target's embedding is used) after its shape is checked.</item>
/// <item>Medusa (FasterDecoding/Medusa): config.json (medusa_num_heads, medusa_num_layers) and
/// medusa_lm_head.safetensors with {i}.{j}.linear.{weight,bias} and, in published heads, {i}.{layers}.weight (own
/// output heads); Medusa-2 merged models hold medusa_head.{i}.* beside the base model's tensors.</item>
/// </list>
/// </summary>
internal static class HeadFolder
{
    private const string Config = "config.json";
    private const string MedusaWeights = "medusa_lm_head.safetensors";

    /// <summary>The kind of head the folder's config.json describes, or null when it is not a head folder.</summary>
    public static string? Kind(string folder)
    {
        string config = Path.Combine(folder, Config);
        if (!Directory.Exists(folder) || !File.Exists(config)) return null;
        try
        {
            using JsonDocument doc = JsonFields.ParseConfig(config);
            JsonElement root = doc.RootElement;
            if (root.TryGetProperty("medusa_num_heads", out _)) return HeadFile.MedusaKind;
            // An EAGLE config is a one-layer Llama config whose weights are fc + layers.0 (no model. prefix).
            bool oneLayer = root.TryGetProperty("num_hidden_layers", out JsonElement l) && l.ValueKind == JsonValueKind.Number && l.GetDouble() == 1;
            return oneLayer && !File.Exists(Path.Combine(folder, "tokenizer.json")) ? HeadFile.EagleKind : null;
        }
        catch (ModelFormatException)
        {
            return null;
        }
    }

    public static HeadFile Open(string folder)
    {
        string configPath = Path.Combine(folder, Config);
        if (!File.Exists(configPath)) throw new ModelFormatException(folder, $"no {Config}: not a head folder");
        using JsonDocument doc = JsonFields.ParseConfig(configPath);
        var f = new JsonFields(configPath);
        JsonElement root = doc.RootElement;
        string? baseName = f.OptionalString(root, "base_model_name_or_path", "base_model_name_or_path");
        return root.TryGetProperty("medusa_num_heads", out _) ? OpenMedusa(folder, f, root, baseName) : OpenEagle(folder, f, root, baseName);
    }

    private static HeadFile OpenEagle(string folder, JsonFields f, JsonElement root, string? baseName)
    {
        int Require(string name) => f.PositiveInt(f.Required(root, name, name), name);
        if (Require("num_hidden_layers") != 1)
            throw new ModelFormatException(f.FilePath, "num_hidden_layers must be 1 for an EAGLE head (EAGLE-1/2 have one decoder layer)");
        if (!f.OptionalBool(root, "bias", "bias", fallback: true))
            throw new ModelFormatException(f.FilePath, "\"bias\": false (an fc without bias, EAGLE-3 style) is not supported; EAGLE-1/2 heads have one");
        if (f.OptionalObject(root, "rope_scaling", "rope_scaling") is not null)
            throw new ModelFormatException(f.FilePath, "rope_scaling in an EAGLE head is not supported");
        int vocab = Require("vocab_size"), hidden = Require("hidden_size");
        int heads = Require("num_attention_heads");
        var config = HeadFile.EagleConfig(f.FilePath, vocab, hidden, Require("intermediate_size"), heads,
            f.OptionalPositiveInt(root, "num_key_value_heads", "num_key_value_heads") ?? heads,
            f.OptionalPositiveInt(root, "head_dim", "head_dim"), Require("max_position_embeddings"),
            (float)(f.OptionalNumber(root, "rms_norm_eps", "rms_norm_eps") ?? 1e-6),
            (float)(f.OptionalNumber(root, "rope_theta", "rope_theta") ?? 10000), RopeStyle.Neox);

        (IReadOnlyList<string> paths, _) = HfWeightFiles.Find(folder);
        var files = paths.Select(SafetensorsFile.Open).ToList();
        try
        {
            var tensors = new Dictionary<string, WeightTensor>();
            foreach (SafetensorsFile file in files)
                foreach (WeightTensor t in file.Tensors)
                {
                    if (HfTensorNames.IsIgnorable(t.Name)) continue;
                    if (t.Name is "embed_tokens.weight" or "model.embed_tokens.weight")
                    {
                        // The head reads the target's embedding; a copy saved with it must at least have its shape.
                        if (!t.Dims.AsSpan().SequenceEqual([(long)hidden, vocab]))
                            throw new ModelFormatException(file.Path, $"tensor {t.Name} has shape [{string.Join(", ", t.Dims.Reverse())}], but the config implies [{vocab}, {hidden}]");
                        continue;
                    }
                    string canonical = HeadTensors.EagleCanonical(t.Name)
                        ?? throw new ModelFormatException(file.Path, $"unexpected tensor {t.Name} in an EAGLE head (it holds fc.* and layers.0.*)");
                    if (canonical == TensorNames.AttnNorm(0))
                        throw new ModelFormatException(file.Path, $"tensor {t.Name}: an EAGLE head's layer 0 has no input norm");
                    if (!tensors.TryAdd(canonical, new WeightTensor(canonical, t.Type, t.Dims, t.Data, t.ByteLength)))
                        throw new ModelFormatException(file.Path, $"tensor {t.Name} appears twice");
                }
            HeadTensors.Check(HeadTensors.Eagle(config), tensors, folder, HeadTensors.EagleFileName, torchOrder: true);
            var identity = new BaseModelIdentity(baseName, vocab, null);
            return new HeadFile(folder, FormatName(files), HeadFile.EagleKind, identity, config, null, tensors, HfModelSource.Flatten(root), [.. files]);
        }
        catch
        {
            foreach (SafetensorsFile file in files) file.Dispose();
            throw;
        }
    }

    private static HeadFile OpenMedusa(string folder, JsonFields f, JsonElement root, string? baseName)
    {
        int heads = f.PositiveInt(f.Required(root, "medusa_num_heads", "medusa_num_heads"), "medusa_num_heads");
        int blocks = f.OptionalPositiveInt(root, "medusa_num_layers", "medusa_num_layers") ?? 1;
        string single = Path.Combine(folder, MedusaWeights);
        IReadOnlyList<string> paths;
        if (File.Exists(single)) paths = [single];
        else if (File.Exists(Path.Combine(folder, "medusa_lm_head.pt")) || File.Exists(Path.Combine(folder, "medusa_lm_head.bin")))
            throw new ModelFormatException(folder, $"the heads are a PyTorch pickle (medusa_lm_head.pt/.bin), which is not read: re-save them as {MedusaWeights}");
        else paths = HfWeightFiles.Find(folder).Files; // a Medusa-2 merged model: heads beside the base model's tensors

        var files = paths.Select(SafetensorsFile.Open).ToList();
        try
        {
            bool merged = paths.Count > 1 || paths[0] != single;
            var tensors = new Dictionary<string, WeightTensor>();
            foreach (SafetensorsFile file in files)
                foreach (WeightTensor t in file.Tensors)
                {
                    if (merged && !t.Name.StartsWith("medusa_head.", StringComparison.Ordinal)) continue; // the base model's own tensors
                    string canonical = HeadTensors.MedusaCanonical(t.Name, blocks)
                        ?? throw new ModelFormatException(file.Path, $"unexpected tensor {t.Name} for Medusa heads of {blocks} residual block(s)");
                    if (!tensors.TryAdd(canonical, new WeightTensor(canonical, t.Type, t.Dims, t.Data, t.ByteLength)))
                        throw new ModelFormatException(file.Path, $"tensor {t.Name} appears twice");
                }
            WeightTensor first = tensors.GetValueOrDefault(TensorNames.MedusaBlock(0, 0))
                ?? throw new ModelFormatException(folder, "missing tensor 0.0.linear.weight (Medusa head 0's first block)");
            int hidden = f.OptionalPositiveInt(root, "hidden_size", "hidden_size") ?? (int)first.Dims[0];
            WeightTensor? output = tensors.GetValueOrDefault(TensorNames.MedusaOutput(0));
            int? vocab = f.OptionalPositiveInt(root, "vocab_size", "vocab_size") ?? (output is null ? null : (int)output.Dims[1]);
            var config = new MedusaConfig(heads, blocks, hidden, vocab ?? 0, output is not null);
            if (config.OwnOutputs && vocab is null) throw new ModelFormatException(f.FilePath, "vocab_size is missing");
            HeadTensors.Check(HeadTensors.Medusa(config), tensors, folder, n => MedusaFileName(n, blocks), torchOrder: true);
            var identity = new BaseModelIdentity(baseName, vocab, null);
            return new HeadFile(folder, FormatName(files), HeadFile.MedusaKind, identity, null, config, tensors, HfModelSource.Flatten(root), [.. files]);
        }
        catch
        {
            foreach (SafetensorsFile file in files) file.Dispose();
            throw;
        }
    }

    /// <summary>The reference name of a canonical Medusa name, for messages.</summary>
    private static string MedusaFileName(string canonical, int blocks)
    {
        string[] p = canonical.Split('.');
        // medusa.{i}.blk.{j}.weight|bias or medusa.{i}.output.weight
        return p.Length == 5 ? $"{p[1]}.{p[3]}.linear.{p[4]}" : p.Length == 4 ? $"{p[1]}.{blocks}.weight" : canonical;
    }

    private static string FormatName(List<SafetensorsFile> files) => files.Count == 1 ? "safetensors" : $"safetensors ({files.Count} shards)";
}
