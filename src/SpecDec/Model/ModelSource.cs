namespace SpecDec.Model;

/// <summary>Opens whatever a user points at: a .gguf file, a Hugging Face folder, or that folder's config.json.</summary>
public static class ModelSource
{
    public static IModelSource Open(string path)
    {
        if (Directory.Exists(path)) return HfModelSource.Open(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file or folder", path);
        if (Path.GetFileName(path) == HfModelSource.ConfigFile) return HfModelSource.Open(path);
        // A .gguf name goes to the GGUF reader even when damaged, so the error says what is wrong with it.
        if (StartsWithGgufMagic(path) || Path.GetExtension(path).Equals(".gguf", StringComparison.OrdinalIgnoreCase))
            return GgufModelSource.Open(path);
        string hint = Path.GetExtension(path) switch
        {
            ".safetensors" => "; a .safetensors file has no config: pass the folder that holds it with config.json",
            _ => "",
        };
        throw new ModelFormatException(path, $"not a GGUF file or a Hugging Face model folder{hint}");
    }

    private static bool StartsWithGgufMagic(string path)
    {
        using FileStream stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("GGUF"u8);
    }
}
